/**
 * npm run offline -- [serverless-offline options]
 *
 * serverless-offline alone (services must be up), with the local environment: .env.example overlaid by
 * .env and your shell (scripts/lib/env.ts). osls itself reads no .env file (serverless.yml has no
 * useDotenv), so that a local .env can never leak into a cloud deploy.
 */
import { spawn } from 'node:child_process';
import { localEnv, ROOT } from './lib/env.js';
import { SLS_BIN } from './lib/sls.js';

const child = spawn(process.execPath, [SLS_BIN, 'offline', 'start', ...process.argv.slice(2)], {
  cwd: ROOT,
  env: { ...localEnv(), SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
  stdio: 'inherit',
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => child.kill(signal));
}
child.once('exit', (code, signal) => {
  process.exitCode = code ?? (signal ? 0 : 1);
});
