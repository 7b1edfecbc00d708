import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { httpEvent as baseHttpEvent, type HttpEventOptions } from '../../scripts/lib/lambda-events.js';
import { DEFAULT_AUTHORIZATION } from './auth.js';

export { lambdaContext } from '../../scripts/lib/lambda-events.js';

/** scripts/lib/lambda-events.ts's event, with an admin token unless `authorization` says otherwise (null: none). */
export function httpEvent(options: HttpEventOptions): APIGatewayProxyEventV2 {
  return baseHttpEvent({ ...options, authorization: options.authorization === undefined ? DEFAULT_AUTHORIZATION : options.authorization });
}
