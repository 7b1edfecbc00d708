// `provider.httpApi.cors` in serverless.yml, resolved by osls (`${file(...)}` runs this function).
//
// Browsers send a preflight `OPTIONS` before a cross-origin PUT/POST/DELETE or any request carrying
// `Authorization`; no function has an OPTIONS route, so only API Gateway can answer it. This gives API
// Gateway the stage's allow-list (the `corsAllowedOrigins` param, comma-separated, the same value the
// functions get as CORS_ALLOWED_ORIGINS) and the headers the functions use (shared/http/cors-policy.json).
// No origins ⇒ false: no CORS configuration, so browsers on other origins are refused.
// CommonJS because osls loads variable files with require().
const policy = require('../../shared/http/cors-policy.json');

module.exports = async ({ resolveVariable }) => {
  const origins = String((await resolveVariable('param:corsAllowedOrigins')) ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
  if (origins.length === 0) return false;
  return { allowedOrigins: origins, ...policy, allowCredentials: false };
};
