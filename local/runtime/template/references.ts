/**
 * Reference resolution: the intrinsic functions of a template (`Ref`,
 * `Fn::GetAtt`, `Fn::Join`) and pseudo parameters turned into local names,
 * ARNs and brokers, or a clear error when they have no local meaning.
 */

import { isRecord } from '#commons/guards.ts';
import { SOURCE_ENTRY_METADATA } from '#infra/kafka-consumer-function.ts';
import { InvalidTemplateError, UnresolvableReferenceError } from './errors.ts';
import type { CfnTemplate, LocalEndpoints, LocalTable } from './model.ts';

/** The account in every local ARN: clearly not a real one. */
export const LOCAL_ACCOUNT = '000000000000';

/** Resolves template values of function environments to local strings. */
export class Resolver {
  readonly #resources: CfnTemplate['Resources'];
  readonly #functionNames: ReadonlyMap<string, string>;
  readonly #tableNames: ReadonlyMap<string, string>;
  readonly #local: LocalEndpoints;
  readonly #region: string;

  constructor(
    resources: CfnTemplate['Resources'],
    functionNames: ReadonlyMap<string, string>,
    tables: readonly LocalTable[],
    local: LocalEndpoints,
    region: string,
  ) {
    this.#resources = resources;
    this.#functionNames = functionNames;
    this.#tableNames = new Map(tables.map((t) => [t.logicalId, t.tableName]));
    this.#local = local;
    this.#region = region;
  }

  resolve(value: unknown, where: string): string {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') {
      return String(value);
    }
    const fail = (why: string): never => {
      throw new UnresolvableReferenceError(
        `${where}: ${JSON.stringify(value)} ${why}`,
      );
    };
    if (!isRecord(value)) return fail('is not a string or intrinsic');
    if (typeof value.Ref === 'string') return this.#ref(value.Ref, fail);
    const getAtt = value['Fn::GetAtt'];
    if (Array.isArray(getAtt)) {
      const [id, attribute] = getAtt;
      if (typeof id === 'string' && typeof attribute === 'string') {
        return this.#getAtt(id, attribute, fail);
      }
    }
    const join = value['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string') {
      const parts: unknown = join[1];
      if (Array.isArray(parts)) {
        return parts.map((part) => this.resolve(part, where)).join(join[0]);
      }
    }
    return fail('has no local equivalent');
  }

  #ref(id: string, fail: (why: string) => never): string {
    const pseudo: Record<string, string> = {
      'AWS::Region': this.#region,
      'AWS::AccountId': LOCAL_ACCOUNT,
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
    };
    if (id in pseudo) return pseudo[id] as string;
    const table = this.#tableNames.get(id);
    if (table !== undefined) return table;
    // Lambda's Ref of a function is its name.
    const fn = this.#functionNames.get(id);
    if (fn !== undefined) return fn;
    return fail(this.#describe(id, 'is not a table or a local function'));
  }

  #getAtt(id: string, attribute: string, fail: (why: string) => never): string {
    if (attribute.startsWith('BootstrapBrokerString')) {
      // The MSK bootstrap brokers (custom resource): the local broker instead.
      return this.#local.brokers.join(',');
    }
    if (attribute === 'Arn') {
      const table = this.#tableNames.get(id);
      if (table !== undefined) {
        return `arn:aws:dynamodb:${this.#region}:${LOCAL_ACCOUNT}:table/${table}`;
      }
      const fn = this.#functionNames.get(id);
      if (fn !== undefined) return localFunctionArn(this.#region, fn);
    }
    return fail(this.#describe(id, `has no local ${attribute}`));
  }

  #describe(id: string, why: string): string {
    const type = this.#resources[id]?.Type ?? 'an unknown resource';
    return `(${id}, ${type}) ${why}`;
  }
}

/**
 * The ARN a local function reports as `invokedFunctionArn`.
 *
 * @example
 * ```ts
 * localFunctionArn('us-east-1', 'payment');
 * // 'arn:aws:lambda:us-east-1:000000000000:function:payment'
 * ```
 */
export function localFunctionArn(region: string, name: string): string {
  return `arn:aws:lambda:${region}:${LOCAL_ACCOUNT}:function:${name}`;
}

/** The logical id of the local function a `Ref` or `Fn::GetAtt Arn` names. */
export function functionOf(
  value: unknown,
  names: ReadonlyMap<string, string>,
  where: string,
): string {
  let id: unknown;
  if (isRecord(value)) {
    const getAtt = value['Fn::GetAtt'];
    if (typeof value.Ref === 'string') id = value.Ref;
    else if (Array.isArray(getAtt) && getAtt[1] === 'Arn') id = getAtt[0];
  }
  if (typeof id !== 'string' || !names.has(id)) {
    throw new InvalidTemplateError(
      `${where}: ${JSON.stringify(value)} is not a local function (one with ${SOURCE_ENTRY_METADATA} metadata)`,
    );
  }
  return id;
}
