import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { discardClientsAfterTimeout } from './clients/abandon.js';
import { logger, withoutDetails } from './logger.js';

/**
 * The stack of a function no HTTP request reaches (a schedule, an invoke). Its log lines carry the Lambda
 * request id and cold start (to find its REPORT line), never its event. A run still busy a second before its
 * Lambda timeout means a connection stopped answering: the run ends there with "<what> did not finish before
 * its Lambda timeout", `signal` is aborted so that it writes nothing after, and the container's connections
 * are dropped so that its next run starts clean. A failure reaches the Lambda runtime without its details
 * (withoutDetails): the run logs it itself.
 */
export function backgroundHandler<Event, Result>(
  what: string,
  run: (event: Event, context: Context, options: { signal: AbortSignal }) => Promise<Result>,
) {
  const reported = async (event: Event, context: Context, options: { signal: AbortSignal }) => {
    try {
      return await run(event, context, options);
    } catch (error) {
      throw withoutDetails(error);
    }
  };
  return middy(reported, {
    timeoutEarlyInMillis: 1_000,
    timeoutEarlyResponse: () => {
      discardClientsAfterTimeout();
      throw new Error(`${what} did not finish before its Lambda timeout`);
    },
  }).use(injectLambdaContext(logger, { logEvent: false, resetKeys: true }));
}
