import * as vega from 'vega';
import { compile } from 'vega-lite';
const spec: any = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', data: { values: [{a: 'x', b: 3}, {a: 'y', b: 300}] }, mark: 'bar', encoding: { y: { field: 'a', type: 'nominal' }, x: { field: 'b', type: 'quantitative', scale: { type: 'log' } } } };
const t = performance.now();
const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
const svg = await view.toSVG();
console.log(svg.length, svg.slice(0, 200), performance.now() - t);
view.finalize();
