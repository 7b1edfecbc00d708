import type { Sql } from '../clients/postgres.js';

/** Three products, for a fresh stage's first order (docs/deploy.md). */
export const SAMPLE_PRODUCTS = [
  { name: 'Linen shirt', price: '39.00', stock: 50, metadata: { category: 'clothing', brand: 'Northwind', colour: 'white', size: 'M' } },
  { name: 'Trail running shoes', price: '89.90', stock: 20, metadata: { category: 'shoes', brand: 'Contoso', colour: 'red', size: '42' } },
  { name: 'Enamel mug', price: '12.50', stock: 100, metadata: { category: 'home', brand: 'Fabrikam', colour: 'blue' } },
];

/** Adds the sample products only to an empty catalog (a shop with products is never touched). Returns how many. */
export async function addSampleCatalog(sql: Sql): Promise<number> {
  return sql.begin(async (tx) => {
    // One at a time even if two invocations race: the second waits, then sees products.
    await tx`lock table products in share row exclusive mode`;
    const [{ count }] = (await tx`select count(*)::int as count from products`) as unknown as [{ count: number }];
    if (count > 0) return 0;
    for (const product of SAMPLE_PRODUCTS) {
      await tx`insert into products (name, price, stock_quantity, metadata)
               values (${product.name}, ${product.price}, ${product.stock}, ${tx.json(product.metadata)})`;
    }
    return SAMPLE_PRODUCTS.length;
  }) as Promise<number>;
}
