/** Reading the schedules: enabled `rate(...)` `AWS::Events::Rule`s that invoke a function. */
import { isRecord } from '#commons/guards.ts';
import { UnsupportedTemplateError } from './errors.ts';
import type { CfnTemplate, LocalSchedule } from './model.ts';
import { functionOf } from './references.ts';

const RATE = /^rate\((\d+) (second|minute|hour|day)s?\)$/;
const UNIT_SECONDS = { second: 1, minute: 60, hour: 3_600, day: 86_400 };

/** One schedule per function target of each enabled `rate(...)` rule; a cron rule is unsupported. */
export function readSchedules(
  resources: CfnTemplate['Resources'],
  names: ReadonlyMap<string, string>,
): LocalSchedule[] {
  return Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::Events::Rule')
    .flatMap(([ruleLogicalId, resource]) => {
      const props = resource.Properties ?? {};
      const expression = props.ScheduleExpression;
      // Event-pattern rules and disabled rules invoke nothing on a clock.
      if (expression === undefined) return [];
      if ((props.State ?? 'ENABLED') !== 'ENABLED') return [];
      const match =
        typeof expression === 'string' ? RATE.exec(expression) : null;
      if (!match) {
        throw new UnsupportedTemplateError(
          `rule ${ruleLogicalId}: ${JSON.stringify(expression)} is not a rate(...) schedule`,
        );
      }
      const everySeconds =
        Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
      const targets = Array.isArray(props.Targets) ? props.Targets : [];
      return targets.filter(isRecord).map(
        (target): LocalSchedule => ({
          ruleLogicalId,
          functionLogicalId: functionOf(
            target.Arn,
            names,
            `rule ${ruleLogicalId}`,
          ),
          everySeconds,
        }),
      );
    });
}
