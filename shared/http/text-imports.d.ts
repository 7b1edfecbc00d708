// Files imported as text (`with { type: 'text' }`, which esbuild bundles as a string): the API reference's assets.
declare module 'swagger-ui-dist/swagger-ui-bundle.js' {
  const text: string;
  export default text;
}
declare module 'swagger-ui-dist/swagger-ui.css' {
  const text: string;
  export default text;
}
// The web console's built files (web/build.ts makes this module when the functions are bundled).
declare module 'web-console:assets' {
  const assets: { page: string; files: Record<string, { body: string; type: string }> };
  export default assets;
}
