import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';

/**
 * Synthetic API Gateway HTTP API (v2) events and Lambda contexts, as serverless-offline and AWS deliver
 * them, for calling handlers in process (tests and benchmarks).
 */
export interface HttpEventOptions {
  method: string;
  path: string;
  routeKey?: string;
  body?: unknown;
  /** Sent as is instead of JSON.stringify(body). */
  rawBody?: string;
  headers?: Record<string, string>;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  /** The Authorization header value; none when absent or null. */
  authorization?: string | null;
}

export function httpEvent(options: HttpEventOptions): APIGatewayProxyEventV2 {
  const now = new Date();
  const routeKey = options.routeKey ?? `${options.method} ${options.path}`;
  const hasBody = options.body !== undefined || options.rawBody !== undefined;
  return {
    version: '2.0',
    routeKey,
    rawPath: options.path,
    rawQueryString: new URLSearchParams(options.query ?? {}).toString(),
    headers: {
      ...(hasBody ? { 'content-type': 'application/json' } : {}),
      ...(options.authorization ? { authorization: options.authorization } : {}),
      ...options.headers,
    },
    ...(options.query ? { queryStringParameters: options.query } : {}),
    ...(options.pathParameters ? { pathParameters: options.pathParameters } : {}),
    ...(hasBody ? { body: options.rawBody ?? JSON.stringify(options.body) } : {}),
    isBase64Encoded: false,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: { method: options.method, path: options.path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'ecommerce-pipeline' },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
  };
}

export function lambdaContext(functionName = 'local'): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 10_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** A handler as the functions export it (the middy-wrapped type, loosened for direct calls). */
export type Handler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<{ statusCode?: number; body?: string; headers?: Record<string, unknown> }>;
