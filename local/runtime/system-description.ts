/**
 * The table `npm run dev` prints once the local system runs (./system.ts): its
 * endpoints, routes, mappings and schedules, and the faults asked for.
 */
import { type ChaosSettings, describeChaos } from './chaos.ts';
import type { LocalLambda } from './lambda.ts';
import type { FunctionOverrides } from './overrides.ts';
import type { SystemModel } from './template.ts';

/**
 * The local system at `url`, for people: each route, mapping and schedule with
 * its function's name, then the environment overrides and chaos in force.
 *
 * @example
 * ```ts
 * console.log(describeSystem(model, 'http://127.0.0.1:3000', lambdas, { overrides: {}, chaos: new Map() }));
 * ```
 */
export function describeSystem(
  model: SystemModel,
  url: string,
  lambdas: ReadonlyMap<string, LocalLambda>,
  faults: {
    readonly overrides: FunctionOverrides['environment'];
    readonly chaos: ReadonlyMap<string, ChaosSettings>;
  },
): string {
  const name = (logicalId: string) => lambdas.get(logicalId)?.name ?? logicalId;
  const lines = [
    `HTTP API  ${url}`,
    `API docs  ${url}/_docs  (OpenAPI: ${url}/openapi.json)`,
    `Console   ${url}/_console`,
    '',
    'Routes',
  ];
  for (const route of model.routes) {
    lines.push(
      `  ${route.routeKey.padEnd(36)} -> ${name(route.functionLogicalId).padEnd(16)} ${route.authorizationType === 'AWS_IAM' ? '(admin token)' : ''}`,
    );
  }
  lines.push('', 'Event source mappings');
  for (const mapping of model.mappings) {
    lines.push(
      `  ${mapping.topic.padEnd(34)} -> ${name(mapping.functionLogicalId).padEnd(16)} batch ${mapping.batchSize}, window ${mapping.maximumBatchingWindowSeconds} s${mapping.onFailureDestination ? `, then ${mapping.onFailureDestination}` : ''}`,
    );
  }
  for (const mapping of model.streamMappings) {
    lines.push(
      `  ${`stream of ${mapping.tableLogicalId}`.padEnd(34)} -> ${name(mapping.functionLogicalId).padEnd(16)} batch ${mapping.batchSize}`,
    );
  }
  lines.push('', 'Schedules');
  for (const schedule of model.schedules) {
    lines.push(
      `  every ${schedule.everySeconds} s -> ${name(schedule.functionLogicalId)}`,
    );
  }
  const overridden = Object.entries(faults.overrides);
  if (overridden.length > 0) {
    lines.push('', 'Environment overrides (--env)');
    for (const [fn, variables] of overridden) {
      for (const [variable, value] of Object.entries(variables)) {
        lines.push(`  ${fn.padEnd(16)} ${variable}=${value}`);
      }
    }
  }
  if (faults.chaos.size > 0) {
    lines.push('', 'Chaos (--chaos)');
    for (const [fn, settings] of faults.chaos) {
      lines.push(`  ${fn.padEnd(16)} ${describeChaos(settings)}`);
    }
  }
  return lines.join('\n');
}
