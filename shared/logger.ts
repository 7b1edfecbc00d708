import { Logger } from '@aws-lambda-powertools/logger';

/**
 * Structured JSON logs (one object per line) with the Lambda request id injected per invocation.
 * Payloads, tokens and connection strings are never logged: log ids, codes and timings only.
 */
export const logger = new Logger({
  serviceName: process.env.SERVICE_NAME ?? 'ecommerce-pipeline',
  logLevel: (process.env.LOG_LEVEL as 'INFO' | undefined) ?? 'INFO',
});
