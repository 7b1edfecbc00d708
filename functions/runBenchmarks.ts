import middy from '@middy/core';
import { z } from 'zod';
import { runBenchmarks } from '../shared/benchmarks/run-benchmarks.js';
import { getSql } from '../shared/clients/postgres.js';
import { ValidationError } from '../shared/errors.js';
import { validationDetails } from '../shared/http/handler.js';
import { logger } from '../shared/logger.js';

/** Invoked by the schedule (its `input`) or through the Lambda API; both are trusted (IAM). */
const PayloadSchema = z.strictObject({
  scale: z.enum(['small', 'medium', 'large']).default('small'),
});

export const handler = middy(async (event: unknown) => {
  const parsed = PayloadSchema.safeParse(event ?? {});
  if (!parsed.success) {
    throw new ValidationError('Invalid benchmark payload.', validationDetails('payload', parsed.error));
  }
  const run = await runBenchmarks(getSql(), parsed.data);
  logger.info('benchmark run finished', { scale: run.scale, suites: Object.keys(run.suites) });
  return run;
});
