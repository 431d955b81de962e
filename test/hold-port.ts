import { createServer, type Server } from 'node:net';
import { LOOPBACK } from '#platform/ports.ts';

/**
 * A server on a free loopback port, standing in for another program that holds it.
 * Close it when done.
 *
 * @example
 * ```ts
 * const { server, port } = await holdPort();
 * // ... expect a PortInUseError for `port` ...
 * server.close();
 * ```
 */
export async function holdPort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  const port = await new Promise<number>((resolve) =>
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    }),
  );
  return { server, port };
}
