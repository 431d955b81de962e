/**
 * The Python peer of `npm run bench:payment` (./peers/payment_consumer.py): its
 * virtual environment, made on first use under .cache/bench-venv with the pinned
 * confluent-kafka of ./peers/requirements.txt, and one run of it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '#platform/artifacts.ts';

const VENV = join(REPO_ROOT, '.cache', 'bench-venv');
const PYTHON = join(VENV, 'bin', 'python');
const REQUIREMENTS = join(REPO_ROOT, 'bench', 'peers', 'requirements.txt');
const SCRIPT = join(REPO_ROOT, 'bench', 'peers', 'payment_consumer.py');
/** pip install can take a while on a slow line; creating the venv takes seconds. */
const SETUP_TIMEOUT_MS = 300_000;

/** What one run of the peer printed. */
export interface PeerFigures {
  readonly records: number;
  /** From the first record polled to the last result acknowledged. */
  readonly seconds: number;
  readonly recordsPerSecond: number;
}

/**
 * Makes the virtual environment unless it has the pinned confluent-kafka already;
 * returns the versions it has, e.g. `confluent-kafka 2.16.2, librdkafka 2.16.0`.
 *
 * @example
 * ```ts
 * console.log(ensurePeer(console.log));
 * ```
 */
export function ensurePeer(log: (line: string) => void): string {
  const pinned = readFileSync(REQUIREMENTS, 'utf8').trim();
  const versions = () =>
    execFileSync(
      PYTHON,
      [
        '-c',
        'import confluent_kafka as c; print(f"confluent-kafka {c.version()}, librdkafka {c.libversion()[0]}")',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    ).trim();
  if (existsSync(PYTHON)) {
    try {
      const have = versions();
      // `confluent-kafka==2.16.2` is installed when `confluent-kafka 2.16.2, ...` says so.
      if (have.startsWith(`${pinned.replace('==', ' ')},`)) return have;
    } catch {
      // Not installed yet (or broken): install below.
    }
  }
  log(`setting up the Python peer in ${VENV} (${pinned})`);
  const run = (command: string, args: string[]) =>
    execFileSync(command, args, {
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: SETUP_TIMEOUT_MS,
    });
  if (!existsSync(PYTHON)) run('python3', ['-m', 'venv', VENV]);
  run(PYTHON, ['-m', 'pip', 'install', '--quiet', '-r', REQUIREMENTS]);
  return versions();
}

/**
 * Runs the peer once in consumer group `group` until it has handled `records`
 * records of `topic`.
 *
 * @example
 * ```ts
 * const { recordsPerSecond } = await runPeer({ brokers, topic, group, records: 20_000 });
 * ```
 */
export function runPeer(options: {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly group: string;
  readonly records: number;
  readonly deadlineSeconds: number;
}): Promise<PeerFigures> {
  const child = spawn(
    PYTHON,
    [
      SCRIPT,
      '--brokers',
      options.brokers.join(','),
      '--topic',
      options.topic,
      '--group',
      options.group,
      '--records',
      String(options.records),
      '--deadline-seconds',
      String(options.deadlineSeconds),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || last === '') {
        reject(
          new Error(
            `the Python peer exited with ${code}: ${err.trim().slice(-500)}`,
          ),
        );
        return;
      }
      resolve(JSON.parse(last) as PeerFigures);
    });
  });
}
