import { createServer } from 'node:net';
import { PortInUseError } from './errors.ts';

/** Every server the platform starts listens here, and only here. */
export const LOOPBACK = '127.0.0.1';

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port, host: LOOPBACK, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * A port on 127.0.0.1 that was free a moment ago, chosen by the kernel.
 *
 * @example
 * ```ts
 * const port = await freePort();
 * ```
 */
export function freePort(): Promise<number> {
  return listenOnce(0);
}

/**
 * Resolves a requested port: 0 or undefined asks for a free one; any other number must
 * be free now, or {@link PortInUseError} says so and how to choose another.
 *
 * @example
 * ```ts
 * const port = await claimPort(Number(process.env.KAFKA_PORT ?? 0), 'KAFKA_PORT');
 * ```
 */
export async function claimPort(
  requested: number | undefined,
  setting: string,
): Promise<number> {
  if (!requested) return freePort();
  try {
    return await listenOnce(requested);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new PortInUseError(
        requested,
        `stop whatever listens there (ss -ltnp 'sport = :${requested}'), ` +
          `or set ${setting} to another port (0 picks a free one)`,
        { cause: error },
      );
    }
    throw error;
  }
}
