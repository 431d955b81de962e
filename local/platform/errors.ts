import { messageOf } from '#commons/guards.ts';

/**
 * Failures of the local platform. Each names its cause and the fix, so that the CLI,
 * `npm run dev` and the test setup can print one line a person can act on.
 *
 * @example
 * ```ts
 * try { await startPlatform(); } catch (e) { console.error(describeError(e)); }
 * ```
 */
export class PlatformError extends Error {
  /** What to do about it, as one imperative sentence. */
  readonly fix: string;

  constructor(message: string, fix: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PlatformError';
    this.fix = fix;
  }
}

/** No usable Java runtime: not installed, not on PATH, or too old. */
export class JavaNotFoundError extends PlatformError {
  constructor(message: string, fix: string, options?: ErrorOptions) {
    super(message, fix, options);
    this.name = 'JavaNotFoundError';
  }
}

/** Maven is missing or could not fetch the broker or DynamoDB Local artifacts. */
export class ArtifactFetchError extends PlatformError {
  constructor(message: string, fix: string, options?: ErrorOptions) {
    super(message, fix, options);
    this.name = 'ArtifactFetchError';
  }
}

/** A port the platform was told to use is already taken. */
export class PortInUseError extends PlatformError {
  readonly port: number;

  constructor(port: number, fix: string, options?: ErrorOptions) {
    super(`port ${port} on 127.0.0.1 is already in use`, fix, options);
    this.name = 'PortInUseError';
    this.port = port;
  }
}

/** A server process exited, or did not answer, before its readiness deadline. */
export class ServerNotReadyError extends PlatformError {
  constructor(message: string, fix: string, options?: ErrorOptions) {
    super(message, fix, options);
    this.name = 'ServerNotReadyError';
  }
}

/** Another `npm run dev` (or platform CLI) already runs from this checkout. */
export class AlreadyRunningError extends PlatformError {
  constructor(message: string, fix: string, options?: ErrorOptions) {
    super(message, fix, options);
    this.name = 'AlreadyRunningError';
  }
}

/**
 * One line for a person: the cause, then the fix. Unknown errors keep their message.
 *
 * @example
 * ```ts
 * describeError(new PortInUseError(9092, 'set KAFKA_PORT=0'));
 * // 'port 9092 on 127.0.0.1 is already in use. Fix: set KAFKA_PORT=0'
 * ```
 */
export function describeError(error: unknown): string {
  if (error instanceof PlatformError) {
    return `${error.message}. Fix: ${error.fix}`;
  }
  return messageOf(error);
}
