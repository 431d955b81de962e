/**
 * `npm run dev -- --demo` (local/demo.ts) against the real system on the test broker
 * and DynamoDB Local: one line per scenario once it settles, with the final state,
 * the payment failure's reason, the gateway retries of a flaky charge and the time.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pollUntil } from '#platform/wait.ts';
import { type Demo, startDemo } from '../../local/demo.ts';
import {
  type LocalSystem,
  startLocalSystem,
} from '../../local/runtime/system.ts';
import { PIPELINE_MS } from './deadlines.ts';

const SCENARIOS = [
  'paid',
  'card declined',
  'fraud suspected',
  'over the limit',
  'flaky gateway',
  'cancel, refund',
  'poison record',
];

let system: LocalSystem;
let demo: Demo | undefined;
const logs: string[] = [];
const lines: string[] = [];

beforeAll(async () => {
  system = await startLocalSystem(
    {
      kafka: { brokers: inject('kafkaBrokers') },
      dynamodb: { endpoint: inject('dynamodbEndpoint') },
    },
    {
      port: 0,
      log: (line) => {
        logs.push(line);
        demo?.observe(line);
      },
    },
  );
});

afterAll(async () => {
  await demo?.stop();
  await system?.stop();
});

describe('the demo', () => {
  it('shows one line per scenario once it settles: state, reason, retries, time', async () => {
    // Act: the seven scenarios, one every 300 ms.
    demo = startDemo(
      system.url,
      inject('kafkaBrokers'),
      (line) => lines.push(line),
      {
        everyMs: 300,
        settleTimeoutMs: PIPELINE_MS,
        adminToken: system.adminToken,
      },
    );
    const all = await pollUntil(
      () =>
        SCENARIOS.every((scenario) =>
          lines.some((line) => line.startsWith(`[demo] ${scenario} `)),
        )
          ? true
          : undefined,
      PIPELINE_MS + 30_000,
      100,
    );
    await demo.stop();

    // Assess
    const shown = lines.join('\n');
    expect(all, `${shown}\nthe system's log:\n${logs.join('\n')}`).toBe(true);
    const lineOf = (scenario: string) =>
      lines.find((line) => line.startsWith(`[demo] ${scenario} `)) ?? shown;
    const ms = String.raw`in (\d+ ms|\d+\.\d s)`;
    expect(lineOf('paid')).toMatch(
      new RegExp(String.raw`^\[demo\] paid +paid-\w+-\d+ +PAID +${ms}$`),
    );
    expect(lineOf('card declined')).toMatch(
      new RegExp(
        String.raw`decline-\w+-\d+ +PAYMENT_FAILED +declined by the gateway \(GATEWAY_DECLINED\), ${ms}$`,
      ),
    );
    expect(lineOf('fraud suspected')).toMatch(
      /suspicious-\w+-\d+ +PAYMENT_FAILED +fraud suspected \(FRAUD_SUSPECTED\), in /,
    );
    expect(lineOf('over the limit')).toMatch(
      /big-\w+-\d+ +PAYMENT_FAILED +over the amount limit \(AMOUNT_LIMIT_EXCEEDED\), in /,
    );
    // The simulated gateway fails a flaky order's first 2 charges (docs/domain.md
    // section 6); the payment function retries them in the same invocation.
    expect(lineOf('flaky gateway')).toMatch(
      new RegExp(
        String.raw`flaky-\w+-\d+ +PAID +after 2 gateway retries, ${ms}$`,
      ),
    );
    expect(lineOf('cancel, refund')).toMatch(
      /cancel-\w+-\d+ +REFUNDED +cancelled: changed my mind \(demo\), in /,
    );
    expect(lineOf('poison record')).toMatch(
      /poison-\w+-\d+ +PARKED +dead-lettered: SchemaMismatchRecordError, in .*, GET \/dead-letters\/order\.placed\.v1\.dead-letter:\d+:\d+$/,
    );
  });
});
