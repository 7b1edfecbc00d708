import { getSql } from '../shared/clients/postgres.js';
import { getConfig } from '../shared/config.js';
import { routeHandler } from '../shared/http/route-handler.js';
import { pageRequest } from '../shared/pagination.js';
import { catalogScope, listProducts } from '../shared/products/catalog.js';
import { catalogFilter, listProductsRoute } from '../shared/products/routes.js';

/** GET /products?attr.colour=red&inStock=true&limit=20&cursor=… — the catalog. Contract: docs/catalog.md. */
export const handler = routeHandler(listProductsRoute, async ({ query }) => {
  const filter = catalogFilter(query);
  const { page, cursor } = pageRequest(getConfig().pagination.cursorSecret, catalogScope(filter), query);
  const { items, nextCursor } = await listProducts(getSql(), filter, page, cursor);
  return { statusCode: 200, body: { products: items, nextCursor } };
});
