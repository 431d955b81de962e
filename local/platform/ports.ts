import { createServer } from 'node:net';
import { PlatformError, PortInUseError } from './errors.ts';

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

/** A port a command will listen on, and the setting that moves it (for the error). */
export interface PortClaim {
  /** 0 or undefined: any free port will do, so there is nothing to check. */
  readonly port: number | undefined;
  /** 'KAFKA_PORT', 'PORT (or --port)'. */
  readonly setting: string;
}

/**
 * Reads a port setting: a whole number from 0 (any free port) to 65535, or a
 * {@link PlatformError} naming the setting.
 *
 * @example
 * ```ts
 * parsePort(process.env.KAFKA_PORT ?? '9092', 'KAFKA_PORT'); // 9092
 * ```
 */
export function parsePort(raw: string, setting: string): number {
  const port = Number(raw);
  if (!/^\s*\d+\s*$/.test(raw) || port > 65_535) {
    throw new PlatformError(
      `${setting}=${raw} is not a port number`,
      `set ${setting} to a whole number from 1 to 65535, or 0 for a free port`,
    );
  }
  return port;
}

/**
 * Checks every port a command will listen on at once, before it starts anything: the
 * first taken one fails with {@link PortInUseError}, naming the setting that moves it.
 * A check, not a reservation: each server binds its port again when it starts.
 *
 * @example
 * ```ts
 * await checkPorts([{ port: 9092, setting: 'KAFKA_PORT' }, { port: 3000, setting: 'PORT' }]);
 * ```
 */
export async function checkPorts(claims: readonly PortClaim[]): Promise<void> {
  await Promise.all(
    claims
      .filter((claim) => claim.port)
      .map((claim) => claimPort(claim.port, claim.setting)),
  );
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
