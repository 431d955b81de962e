/** How `npm run dev` shows the functions' JSON log lines (local/log-lines.ts). */
import { describe, expect, it } from 'vitest';
import { compactLogLine } from '../../local/log-lines.ts';

/** The fields Powertools Logger puts on every line of a function. */
const CONTEXT = {
  timestamp: '2026-12-06T07:00:15.966Z',
  service: 'payment',
  cold_start: false,
  function_arn: 'arn:aws:lambda:us-east-1:000000000000:function:payment',
  function_memory_size: '512',
  function_name: 'payment',
  function_request_id: 'bec2bcf4-43c2-41be-b6c2-c4a11dea74c4',
  sampling_rate: 0,
};

describe('compactLogLine', () => {
  it('keeps the message and its own fields, without the context every line repeats', () => {
    // Prepare
    const line = `[payment] ${JSON.stringify({
      level: 'INFO',
      message: 'batch consumed',
      ...CONTEXT,
      consumer: 'payment',
      records: 1,
      'dead-lettered': 0,
      failedPartitions: [],
    })}`;

    // Act / Assess
    expect(compactLogLine(line)).toBe(
      '[payment] batch consumed consumer=payment records=1 dead-lettered=0 failedPartitions=[]',
    );
  });

  it('names a level other than INFO, and quotes text with spaces', () => {
    // Prepare
    const line = `[payment] ${JSON.stringify({
      level: 'WARN',
      message: 'charge failed transiently: trying again',
      ...CONTEXT,
      orderId: 'flaky-4',
      reason: 'payment gateway timed out',
    })}`;

    // Act / Assess
    expect(compactLogLine(line)).toBe(
      '[payment] WARN charge failed transiently: trying again orderId=flaky-4 reason="payment gateway timed out"',
    );
  });

  it('shows an error as its name and message on one line, cut to size, without the stack', () => {
    // Prepare
    const message = `record value fails the schema: ✖ Invalid input\n  → at eventId\n${'x'.repeat(400)}`;
    const line = `[payment] ${JSON.stringify({
      level: 'ERROR',
      message: 'poison record dead-lettered',
      ...CONTEXT,
      error: {
        name: 'SchemaMismatchRecordError',
        location: 'file:///functions/commons/kafka-consumer.ts:987',
        message,
        stack: 'SchemaMismatchRecordError: ...\n    at validate (file:///...)',
      },
    })}`;

    // Act
    const compact = compactLogLine(line);

    // Assess
    expect(compact).toMatch(
      /^\[payment\] ERROR poison record dead-lettered error="SchemaMismatchRecordError: record value fails the schema: ✖ Invalid input → at eventId x+…"$/,
    );
    expect(compact).not.toContain('\\n');
    expect(compact).not.toContain('at validate');
    expect(compact.length).toBeLessThan(300);
  });

  it.each([
    [
      'a runtime line',
      '[order.placed.v1 -> payment] polling as group g, partitions 0',
    ],
    ['an access log line', 'POST /orders 201 23ms abc='],
    ['JSON without a message', '[payment] {"a":1}'],
    ['broken JSON', '[payment] {"message":'],
    ['a JSON array', '[payment] [{"message":"x"}]'],
  ])('leaves %s as it is', (_what, line) => {
    expect(compactLogLine(line)).toBe(line);
  });
});
