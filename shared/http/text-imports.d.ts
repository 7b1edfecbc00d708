// Files imported as text (`with { type: 'text' }`, which esbuild bundles as a string): the API reference's assets.
declare module 'swagger-ui-dist/swagger-ui-bundle.js' {
  const text: string;
  export default text;
}
declare module 'swagger-ui-dist/swagger-ui.css' {
  const text: string;
  export default text;
}
