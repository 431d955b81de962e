/**
 * The whole system on this machine, wired from the synthesized CDK template: every
 * function in its own worker (like a Lambda sandbox), every event source mapping as a
 * real consumer group on the local broker, the HTTP API on a port, the schedules; the
 * topics and tables created as the stack declares them. Nothing about functions,
 * routes, topics, tables or mappings is written here: it all comes from the template.
 */
import { randomInt } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '#platform/artifacts.ts';
import { claimPort } from '#platform/ports.ts';
import { RuntimeObserver } from '../console/observer.ts';
import { createConsole, type LocalConsole } from '../console/server.ts';
import { parseAdminToken, randomAdminToken } from './admin-token.ts';
import { apiReferencePages } from './api-reference.ts';
import type { ChaosSettings } from './chaos.ts';
import {
  type LocalStreamMappingRunner,
  startStreamMapping,
} from './dynamodb-stream/mapping.ts';
import {
  type LocalEventSourceMapping,
  startEventSourceMapping,
} from './esm/mapping.ts';
import { startHttpApi } from './http/server.ts';
import { ConsumerThread } from './kafka-consumer-thread.ts';
import { type LocalLambda, startLocalLambda } from './lambda.ts';
import { checkFunctionNames, type FunctionOverrides } from './overrides.ts';
import { scheduledEvent } from './scheduled-event.ts';
import { createStackResources } from './stack-resources.ts';
import { describeSystem } from './system-description.ts';
import {
  type CfnTemplate,
  readSystem,
  type SystemModel,
  synthesizeTemplate,
} from './template.ts';

const FUNCTIONS_DIR = join(REPO_ROOT, 'functions');

/** The running local system. */
export interface LocalSystem {
  readonly model: SystemModel;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** The credential the admin (IAM-authorized) routes demand locally. */
  readonly adminToken: string;
  /** A table of endpoints, routes and mappings, for people. */
  describe(): string;
  /** Stops in order: HTTP, schedules, mappings (drain and commit), their consumer thread, functions. */
  stop(): Promise<void>;
}

/** Where the broker and DynamoDB are: a `LocalPlatform`, or the tests' endpoints. */
export interface PlatformEndpoints {
  readonly kafka: { readonly brokers: readonly string[] };
  readonly dynamodb: { readonly endpoint: string };
}

/** Options for {@link startLocalSystem}. */
export interface LocalSystemOptions {
  /** HTTP port; 0 picks a free one. Default 3000. */
  readonly port?: number;
  /** The CDK stage whose template is read. Default dev. */
  readonly stage?: string;
  readonly log?: (line: string) => void;
  /** Reload the functions when a file under functions/ changes. */
  readonly watch?: boolean;
  /** The synthesized template, when the caller has it. Default: `stage`'s, synthesized. */
  readonly template?: CfnTemplate;
  /**
   * Variables set over the template's, per function (its local name, e.g. `payment`):
   * `npm run dev --env` (docs/local-faults.md).
   */
  readonly environment?: FunctionOverrides['environment'];
  /**
   * Injected faults per function (./chaos.ts): `npm run dev --chaos`. Without a
   * seed, one is drawn and shown by `describe()`.
   */
  readonly chaos?: FunctionOverrides['chaos'];
  /**
   * What the admin (IAM-authorized) routes demand as `Authorization: Bearer`:
   * at least 16 printable characters (./admin-token.ts). Default: drawn at random.
   */
  readonly adminToken?: string;
}

/**
 * Starts the system on a running platform (broker and DynamoDB).
 *
 * @example
 * ```ts
 * const platform = await startPlatform();
 * const system = await startLocalSystem(platform, { port: 0 });
 * await fetch(`${system.url}/health`);
 * await system.stop();
 * ```
 */
export async function startLocalSystem(
  platform: PlatformEndpoints,
  options: LocalSystemOptions = {},
): Promise<LocalSystem> {
  const { log, adminToken, port, model, overrides, chaos } =
    await prepareSystem(platform, options);
  // What the console shows (docs/console.md): every invocation, into a ring buffer.
  const observer = new RuntimeObserver();
  const lambdas = startLambdas(model, { overrides, chaos, observer, log });
  const lambdaOf = (logicalId: string): LocalLambda => {
    const lambda = lambdas.get(logicalId);
    if (!lambda) throw new Error(`no local function ${logicalId}`);
    return lambda;
  };

  const parts: SystemParts = {
    lambdas,
    // One thread runs every mapping's kafkajs consumer, for the whole session.
    consumerThread: new ConsumerThread(),
    mappings: [],
    streamMappings: [],
    schedules: [],
  };
  const stop = () => stopSystem(parts);

  try {
    await startMappings(parts, model, platform, { lambdaOf, observer, log });
    const consoleApp = createConsole({
      model,
      brokers: platform.kafka.brokers,
      dynamodbEndpoint: platform.dynamodb.endpoint,
      adminToken,
      observer,
      mappings: () => parts.mappings,
      log,
    });
    parts.consoleApp = consoleApp;
    const api = await startHttpApi({
      routes: model.routes,
      functions: lambdas,
      port,
      adminToken,
      log,
      pages: apiReferencePages(),
      mounts: [consoleApp.mount],
    });
    parts.stopApi = api.stop;
    if (options.watch) parts.watcher = watchFunctions(lambdas, log);
    startSchedules(parts, model, lambdaOf, log);
    return {
      model,
      url: api.url,
      adminToken,
      describe: () =>
        describeSystem(model, api.url, lambdas, { overrides, chaos }),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** What {@link prepareSystem} settled before anything runs. */
interface SystemSettings {
  readonly log: (line: string) => void;
  readonly adminToken: string;
  readonly port: number;
  readonly model: SystemModel;
  readonly overrides: FunctionOverrides['environment'];
  readonly chaos: Map<string, ChaosSettings>;
}

/**
 * Reads the options and the template, claims the HTTP port and creates the
 * stack's topics and tables: what can fail fails here, before anything starts.
 */
async function prepareSystem(
  platform: PlatformEndpoints,
  options: LocalSystemOptions,
): Promise<SystemSettings> {
  const log =
    options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const adminToken =
    options.adminToken === undefined
      ? randomAdminToken()
      : parseAdminToken(options.adminToken, 'adminToken');
  // A taken port fails first, with one line naming it and the fix (PORT / --port).
  const port = await claimPort(options.port ?? 3000, 'PORT (or --port)');
  const model = readSystem(
    options.template ?? synthesizeTemplate(options.stage ?? 'dev'),
    {
      brokers: platform.kafka.brokers,
      dynamodbEndpoint: platform.dynamodb.endpoint,
    },
  );
  const overrides = options.environment ?? {};
  // A function the template lacks fails before anything starts, naming those it has.
  checkFunctionNames(
    { environment: overrides, chaos: options.chaos ?? {} },
    model.functions.map((fn) => fn.name),
  );
  const chaos = new Map<string, ChaosSettings>(
    Object.entries(options.chaos ?? {}).map(([name, given]) => [
      name,
      { ...given, seed: given.seed ?? randomInt(2 ** 32 - 1) },
    ]),
  );
  await createStackResources(platform, model);
  return { log, adminToken, port, model, overrides, chaos };
}

/** A local Lambda per function of the model, each wrapped by the observer. */
function startLambdas(
  model: SystemModel,
  settings: Pick<SystemSettings, 'overrides' | 'chaos' | 'log'> & {
    readonly observer: RuntimeObserver;
  },
): Map<string, LocalLambda> {
  const { overrides, chaos, observer, log } = settings;
  // Metrics (CloudWatch EMF) would print a JSON blob per invocation locally: off,
  // unless LOCAL_METRICS=1 asks for them.
  const metrics: Record<string, string> =
    process.env.LOCAL_METRICS === '1'
      ? {}
      : { POWERTOOLS_METRICS_DISABLED: 'true' };
  return new Map<string, LocalLambda>(
    model.functions.map((fn) => [
      fn.logicalId,
      observer.wrap(
        startLocalLambda(
          {
            ...fn,
            environment: {
              ...metrics,
              ...fn.environment,
              ...overrides[fn.name],
            },
          },
          { log, ...(chaos.has(fn.name) ? { chaos: chaos.get(fn.name) } : {}) },
        ),
      ),
    ]),
  );
}

/** What a running system stops, in {@link stopSystem}: filled in as each starts. */
interface SystemParts {
  readonly lambdas: ReadonlyMap<string, LocalLambda>;
  readonly consumerThread: ConsumerThread;
  readonly mappings: LocalEventSourceMapping[];
  readonly streamMappings: LocalStreamMappingRunner[];
  readonly schedules: NodeJS.Timeout[];
  stopApi?: () => Promise<void>;
  watcher?: FSWatcher;
  consoleApp?: LocalConsole;
}

/** Stops what has started, in order (LocalSystem.stop). */
async function stopSystem(parts: SystemParts): Promise<void> {
  parts.watcher?.close();
  // The console first: its open streams would keep the HTTP API from closing.
  await parts.consoleApp?.stop();
  await parts.stopApi?.();
  for (const timer of parts.schedules) clearInterval(timer);
  try {
    await Promise.all(
      [...parts.mappings, ...parts.streamMappings].map((mapping) =>
        mapping.stop(),
      ),
    );
  } finally {
    await parts.consumerThread.stop();
    await Promise.all(
      [...parts.lambdas.values()].map((lambda) => lambda.stop()),
    );
  }
}

/**
 * Starts the enabled Kafka and DynamoDB stream mappings, one after the other, each
 * into `parts` as soon as it runs (so that a failure stops those before it).
 */
async function startMappings(
  parts: SystemParts,
  model: SystemModel,
  platform: PlatformEndpoints,
  context: {
    readonly lambdaOf: (logicalId: string) => LocalLambda;
    readonly observer: RuntimeObserver;
    readonly log: (line: string) => void;
  },
): Promise<void> {
  const { lambdaOf, observer, log } = context;
  for (const mapping of model.mappings.filter((m) => m.enabled)) {
    const target = lambdaOf(mapping.functionLogicalId);
    parts.mappings.push(
      await startEventSourceMapping(mapping, target, {
        brokers: platform.kafka.brokers,
        log,
        consumerThread: parts.consumerThread,
        observe: observer.kafkaObserver({
          logicalId: mapping.logicalId,
          topic: mapping.topic,
          functionName: target.name,
        }),
      }),
    );
  }
  for (const mapping of model.streamMappings.filter((m) => m.enabled)) {
    parts.streamMappings.push(
      await startStreamMapping(mapping, lambdaOf(mapping.functionLogicalId), {
        endpoint: platform.dynamodb.endpoint,
        log,
      }),
    );
  }
}

/** Functions run from their sources: a change under functions/ reloads them all (cold starts). */
function watchFunctions(
  lambdas: ReadonlyMap<string, LocalLambda>,
  log: (line: string) => void,
): FSWatcher {
  let pending: NodeJS.Timeout | undefined;
  return watch(FUNCTIONS_DIR, { recursive: true }, () => {
    clearTimeout(pending);
    pending = setTimeout(() => {
      log('[watch] functions/ changed: reloading every function');
      for (const lambda of lambdas.values()) void lambda.reload();
    }, 200);
  });
}

/** Invokes each scheduled function at its rate, into `parts.schedules`. */
function startSchedules(
  parts: SystemParts,
  model: SystemModel,
  lambdaOf: (logicalId: string) => LocalLambda,
  log: (line: string) => void,
): void {
  for (const schedule of model.schedules) {
    const target = lambdaOf(schedule.functionLogicalId);
    parts.schedules.push(
      setInterval(() => {
        void target.invoke(scheduledEvent()).then((result) => {
          if (!result.ok)
            log(`[schedule] ${target.name}: ${result.errorMessage}`);
        });
      }, schedule.everySeconds * 1000),
    );
  }
}
