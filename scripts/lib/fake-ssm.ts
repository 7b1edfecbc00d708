import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeSsm {
  /** For AWS_ENDPOINT_URL_SSM: the AWS SDK v3 (and so osls' `${ssm:…}`) then asks this server. */
  endpoint: string;
  /** Every parameter name asked for, in order. */
  requested: string[];
  close(): Promise<void>;
}

/** The value a rehearsal puts where a secret would go: visibly fake, and naming the parameter. */
export function placeholderFor(name: string): string {
  return `placeholder-from-fake-ssm:${name}`;
}

/**
 * A local stand-in for SSM Parameter Store's GetParameter (the only call osls makes for `${ssm:…}`), so
 * that `sls package` of a cloud stage resolves its SSM references with no network and no AWS account.
 * Answers `values[name]` or a placeholder naming the parameter; `missing` names answer ParameterNotFound.
 */
export async function startFakeSsm(options: { values?: Record<string, string>; missing?: string[] } = {}): Promise<FakeSsm> {
  const requested: string[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const target = String(request.headers['x-amz-target'] ?? '');
      const input = (body ? JSON.parse(body) : {}) as { Name?: string };
      response.setHeader('Content-Type', 'application/x-amz-json-1.1');
      if (target !== 'AmazonSSM.GetParameter' || !input.Name) {
        response.statusCode = 400;
        response.end(JSON.stringify({ __type: 'InvalidAction', message: `the fake SSM only answers GetParameter (${target})` }));
        return;
      }
      requested.push(input.Name);
      if (options.missing?.includes(input.Name)) {
        response.statusCode = 400;
        response.end(JSON.stringify({ __type: 'ParameterNotFound', message: `${input.Name} not found` }));
        return;
      }
      const value = options.values?.[input.Name] ?? placeholderFor(input.Name);
      response.end(JSON.stringify({ Parameter: { Name: input.Name, Type: 'SecureString', Value: value, Version: 1 } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requested,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
