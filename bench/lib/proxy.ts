/**
 * A TCP proxy that counts network round trips: a "turn" is the client sending after the server last
 * spoke (or first). On a warm connection used by one request at a time, turns = round trips, whatever
 * the driver pipelines in between — which is what the statement counter in shared/clients cannot see
 * (postgres.js sends Describe and waits before Bind/Execute for an unprepared statement with parameters).
 */
import net from 'node:net';

export interface CountingProxy {
  port: number;
  turns(): number;
  reset(): void;
  close(): Promise<void>;
}

export async function countingProxy(target: { host: string; port: number }): Promise<CountingProxy> {
  let turns = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    let clientSpokeLast = false;
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on('data', (chunk) => {
      if (!clientSpokeLast) turns++;
      clientSpokeLast = true;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      clientSpokeLast = false;
      client.write(chunk);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    turns: () => turns,
    reset: () => void (turns = 0),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
