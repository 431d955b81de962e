/**
 * {@link OrdersFunction}: a Lambda function with the defaults every function of the
 * project shares (runtime, bundling, logs, network).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import {
  NodejsFunction,
  type NodejsFunctionProps,
} from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { FUNCTION_BUNDLING } from './bundling.ts';
import type { StageConfig } from './config.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
/** Where the handlers live; `entry` is relative to it. */
const FUNCTIONS_DIR = path.join(REPO_ROOT, 'functions');

/**
 * The subnets and security group of a function that must reach the brokers: what the
 * project's `Network` construct offers.
 */
export interface FunctionNetwork {
  readonly vpc: ec2.IVpc;
  readonly functionSecurityGroup: ec2.ISecurityGroup;
  /**
   * Where the functions go (`Network.subnets`). Default: the private isolated
   * subnets (no NAT; AWS services through endpoints).
   */
  readonly subnets?: ec2.SubnetSelection;
}

/** Props of {@link OrdersFunction}. */
export interface OrdersFunctionProps {
  /** The handler module, relative to `functions/`, e.g. `'payment.ts'`. */
  readonly entry: string;
  /** The exported handler name, e.g. `'adminHandler'`. Default: `'handler'`. */
  readonly handler?: string;
  readonly description: string;
  readonly environment?: Readonly<Record<string, string>>;
  /** Memory, timeout and log retention of the stage. */
  readonly functions: StageConfig['functions'];
  /** In the VPC when given; outside otherwise. */
  readonly network?: FunctionNetwork;
  /** X-Ray active tracing. Default: off. */
  readonly tracing?: boolean;
  /** What happens to the log group when the stack goes. Default: RETAIN. */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * A Node.js function with the project's defaults: Node.js 24 on arm64, one minified
 * CommonJS bundle without a source map ({@link FUNCTION_BUNDLING}), its own log group
 * with the stage's retention, memory and timeout from the stage, and the VPC when a
 * network is given.
 *
 * A class rather than a factory: the stack and tests can tell our functions apart
 * (`instanceof`), and callers keep the full `NodejsFunction` API (grants, metrics).
 *
 * The AWS SDK v3 is bundled, not taken from the runtime: the bundle then runs the
 * exact versions of the lock file, the ones the tests ran, whatever SDK the runtime
 * ships that month (https://docs.aws.amazon.com/lambda/latest/dg/lambda-nodejs.html),
 * and loads faster than resolving the runtime's SDK packages (measured:
 * docs/performance.md section "Cold start"). Only packages a deployed function never
 * loads are left out (`LAZY_EXTERNALS`).
 *
 * @example
 * ```ts
 * const api = new OrdersFunction(this, 'OrderApi', {
 *   entry: 'order-api.ts',
 *   description: 'Orders HTTP API',
 *   environment: { ORDERS_TABLE: table.tableName },
 *   functions: config.functions,
 *   network,
 * });
 * ```
 */
export class OrdersFunction extends NodejsFunction {
  /** The TypeScript entry, relative to the repository: `functions/payment.ts`. */
  readonly sourceEntry: string;

  constructor(scope: Construct, id: string, props: OrdersFunctionProps) {
    super(scope, id, ordersFunctionProps(scope, id, props));
    this.sourceEntry = path.posix.join('functions', props.entry);
    // The template says which source file a function runs, so that the local runtime
    // (local/runtime) can run the TypeScript directly from the synthesized template.
    (this.node.defaultChild as lambda.CfnFunction).addMetadata(
      SOURCE_ENTRY_METADATA,
      this.sourceEntry,
    );
  }
}

/** The template metadata key that names a function's TypeScript entry. */
export const SOURCE_ENTRY_METADATA = 'orders:source-entry';

function ordersFunctionProps(
  scope: Construct,
  id: string,
  props: OrdersFunctionProps,
): NodejsFunctionProps {
  const entry = path.resolve(FUNCTIONS_DIR, props.entry);
  const relative = path.relative(FUNCTIONS_DIR, entry);
  if (relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new Error(`${id}: entry ${props.entry} is not under functions/`);
  }
  if (!existsSync(entry)) {
    throw new Error(`${id}: entry functions/${relative} does not exist`);
  }
  const handler = props.handler ?? 'handler';
  if (!/^[A-Za-z_$][\w$]*$/.test(handler)) {
    throw new Error(`${id}: handler must be an export name, got ${handler}`);
  }
  // The log group is made here, not left to Lambda: Lambda would create it on first
  // invocation with no retention, outside the stack.
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
    retention: retentionDays(props.functions.logRetentionDays),
    removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
  });
  return {
    entry,
    handler,
    description: props.description,
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: props.functions.memoryMb,
    timeout: Duration.seconds(props.functions.timeoutSeconds),
    logGroup,
    tracing: props.tracing ? lambda.Tracing.ACTIVE : undefined,
    environment: props.environment,
    ...(props.network
      ? {
          vpc: props.network.vpc,
          vpcSubnets: props.network.subnets ?? {
            subnetType: ec2.SubnetType.PRIVATE_ISOLATED,
          },
          securityGroups: [props.network.functionSecurityGroup],
        }
      : {}),
    projectRoot: REPO_ROOT,
    depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
    bundling: FUNCTION_BUNDLING,
  };
}

/** The stage's retention, checked against the values CloudWatch Logs accepts. */
function retentionDays(days: number): logs.RetentionDays {
  const allowed = Object.values(logs.RetentionDays).filter(
    (value): value is logs.RetentionDays => typeof value === 'number',
  );
  const match = allowed.find((value) => value === days);
  if (match === undefined) {
    throw new Error(
      `logRetentionDays ${days} is not a CloudWatch Logs retention; use one of ${allowed.join(', ')}`,
    );
  }
  return match;
}
