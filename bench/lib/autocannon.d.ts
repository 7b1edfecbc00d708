// The part of autocannon 8's API bench/load.ts uses (the package ships no types).
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  export interface Request {
    setupRequest?: (request: Request, context: Record<string, unknown>) => Request | null | undefined;
    onResponse?: (status: number, body: string, context: Record<string, unknown>) => void;
  }

  export interface Result {
    requests: { average: number };
    latency: { p50: number; p99: number };
    errors: number;
    timeouts: number;
  }

  export interface Instance extends EventEmitter, PromiseLike<Result> {}

  function autocannon(options: {
    url: string;
    connections: number;
    pipelining: number;
    duration: number;
    timeout: number;
    requests: Request[];
  }): Instance;
  export default autocannon;
}
