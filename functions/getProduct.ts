import { getSql } from '../shared/clients/postgres.js';
import { NotFoundError } from '../shared/errors.js';
import { routeHandler } from '../shared/http/route-handler.js';
import { getProduct } from '../shared/products/catalog.js';
import { getProductRoute } from '../shared/products/routes.js';

/** GET /products/{productId} — one product of the catalog, or 404. */
export const handler = routeHandler(getProductRoute, async ({ path }) => {
  const product = await getProduct(getSql(), path.productId);
  if (!product) throw new NotFoundError('PRODUCT_NOT_FOUND', `Product ${path.productId} does not exist.`, { productId: path.productId });
  return { statusCode: 200, body: product };
});
