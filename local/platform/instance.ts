import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { AlreadyRunningError } from './errors.ts';

/** What a running named instance (e.g. `npm run dev`) writes about itself. */
export interface InstanceRecord {
  readonly pid: number;
  /** Who runs it: 'npm run dev', 'the local platform'. */
  readonly title: string;
  readonly startedAt: string;
  readonly kafkaBrokers?: readonly string[];
  readonly dynamodbEndpoint?: string;
  /** Process ids of the JVMs it started. */
  readonly jvmPids?: readonly number[];
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Reads a record, or undefined when there is none or its process is gone. */
export function readInstance(file: string): InstanceRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(file, 'utf8')) as InstanceRecord;
    return isAlive(record.pid) ? record : undefined;
  } catch {
    return undefined;
  }
}

/** The claim a process holds on a named instance until it releases it. */
export interface InstanceLock {
  readonly file: string;
  /** Adds the endpoints once the servers are up. */
  update(details: Omit<InstanceRecord, 'pid' | 'title' | 'startedAt'>): void;
  release(): void;
}

/**
 * Claims a named instance by creating its record file exclusively. A second claim while
 * the first process lives fails with {@link AlreadyRunningError}, naming the running
 * instance and its endpoints; a record left by a dead process is taken over.
 *
 * @example
 * ```ts
 * const lock = acquireInstance('.cache/run/dev.json', 'npm run dev');
 * lock.update({ kafkaBrokers: ['127.0.0.1:9092'] });
 * lock.release();
 * ```
 */
export function acquireInstance(file: string, what: string): InstanceLock {
  mkdirSync(dirname(file), { recursive: true });
  const record: InstanceRecord = {
    pid: process.pid,
    title: what,
    startedAt: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const fd = openSync(file, 'wx');
      writeFileSync(fd, JSON.stringify(record));
      closeSync(fd);
      let current = record;
      return {
        file,
        update(details) {
          current = { ...current, ...details };
          writeFileSync(file, JSON.stringify(current));
        },
        release() {
          const onDisk = readInstance(file);
          if (!onDisk || onDisk.pid === process.pid)
            rmSync(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const running = readInstance(file);
      if (running) {
        const where = [
          running.kafkaBrokers && `Kafka at ${running.kafkaBrokers.join(',')}`,
          running.dynamodbEndpoint && `DynamoDB at ${running.dynamodbEndpoint}`,
        ]
          .filter(Boolean)
          .join(', ');
        throw new AlreadyRunningError(
          `${running.title} is already running from this checkout (pid ${running.pid}` +
            `${where ? `; ${where}` : ''})`,
          `use that one, or stop it first (Ctrl-C in its terminal, or 'npm run platform -- stop')`,
        );
      }
      rmSync(file, { force: true });
    }
  }
  throw new AlreadyRunningError(
    `could not claim ${file}`,
    'remove the file if no other instance is running',
  );
}
