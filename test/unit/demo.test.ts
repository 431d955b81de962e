/**
 * The lines of `npm run dev -- --demo` (local/demo/outcome.ts): one per order once it
 * settles, and the payment retry warnings it counts per order.
 */
import { describe, expect, it } from 'vitest';
import { GATEWAY_RETRY_MESSAGE } from '#domain/payment.ts';
import {
  describeReason,
  formatOutcome,
  gatewayRetryOf,
} from '../../local/demo/outcome.ts';

describe('formatOutcome', () => {
  it.each([
    [
      'a paid order: state and time',
      {
        scenario: 'paid',
        id: 'demo-0',
        state: 'PAID',
        settled: true,
        gatewayRetries: 0,
        tookMs: 42,
      },
      '[demo] paid             demo-0               PAID            in 42 ms',
    ],
    [
      'a failed payment: its reason in words and code',
      {
        scenario: 'card declined',
        id: 'decline-1',
        state: 'PAYMENT_FAILED',
        settled: true,
        reason: 'declined by the gateway (GATEWAY_DECLINED)',
        tookMs: 130,
      },
      '[demo] card declined    decline-1            PAYMENT_FAILED  declined by the gateway (GATEWAY_DECLINED), in 130 ms',
    ],
    [
      'a flaky charge: its retries, and seconds from 1 s',
      {
        scenario: 'flaky gateway',
        id: 'flaky-4',
        state: 'PAID',
        settled: true,
        gatewayRetries: 2,
        tookMs: 1_260,
      },
      '[demo] flaky gateway    flaky-4              PAID            after 2 gateway retries, in 1.3 s',
    ],
    [
      'one retry, singular',
      {
        scenario: 'flaky gateway',
        id: 'flaky-4',
        state: 'PAID',
        settled: true,
        gatewayRetries: 1,
        tookMs: 300,
      },
      '[demo] flaky gateway    flaky-4              PAID            after 1 gateway retry, in 300 ms',
    ],
    [
      'an order that did not settle: the last state and the wait',
      {
        scenario: 'paid',
        id: 'demo-7',
        state: 'PENDING',
        settled: false,
        gatewayRetries: 0,
        tookMs: 30_000,
      },
      '[demo] paid             demo-7               PENDING         not settled after 30.0 s: see the function logs above',
    ],
    [
      'a poison record: the dead letter to look at',
      {
        scenario: 'poison record',
        id: 'poison-6',
        state: 'PARKED',
        settled: true,
        reason: 'dead-lettered: SchemaMismatchRecordError',
        tookMs: 8,
        see: 'GET /dead-letters/order.placed.v1.dead-letter:0:0',
      },
      '[demo] poison record    poison-6             PARKED          dead-lettered: SchemaMismatchRecordError, in 8 ms, GET /dead-letters/order.placed.v1.dead-letter:0:0',
    ],
  ])('shows %s in one line', (_what, outcome, line) => {
    // Act / Assess
    expect(formatOutcome(outcome)).toBe(line);
  });
});

describe('describeReason', () => {
  it.each([
    [
      'PAYMENT_FAILED',
      'GATEWAY_DECLINED',
      'declined by the gateway (GATEWAY_DECLINED)',
    ],
    ['PAYMENT_FAILED', 'FRAUD_SUSPECTED', 'fraud suspected (FRAUD_SUSPECTED)'],
    [
      'PAYMENT_FAILED',
      'AMOUNT_LIMIT_EXCEEDED',
      'over the amount limit (AMOUNT_LIMIT_EXCEEDED)',
    ],
    ['PAYMENT_FAILED', 'SOMETHING_NEW', 'SOMETHING_NEW'],
    ['REFUNDED', 'changed my mind', 'cancelled: changed my mind'],
    ['PAID', null, undefined],
  ])('%s for %s: %s', (status, reason, words) => {
    expect(describeReason(status, reason)).toBe(words);
  });
});

describe('gatewayRetryOf', () => {
  it('reads the order id of the payment function retry warning', () => {
    // Prepare
    const line = `[payment] ${JSON.stringify({
      level: 'WARN',
      message: GATEWAY_RETRY_MESSAGE,
      service: 'payment',
      orderId: 'flaky-4',
      attempt: 1,
      delayMs: 120,
    })}`;

    // Act / Assess
    expect(gatewayRetryOf(line)).toBe('flaky-4');
  });

  it.each([
    [
      'another message',
      `[payment] {"message":"batch consumed","orderId":"flaky-4"}`,
    ],
    [
      'the message inside another field',
      `[payment] {"message":"x","note":"${GATEWAY_RETRY_MESSAGE}","orderId":"o"}`,
    ],
    ['no order id', `[payment] {"message":"${GATEWAY_RETRY_MESSAGE}"}`],
    ['not JSON', `[payment] ${GATEWAY_RETRY_MESSAGE} flaky-4`],
    [
      'a runtime line',
      `[order.placed.v1 -> payment] invocation failed: ${GATEWAY_RETRY_MESSAGE}`,
    ],
  ])('ignores %s', (_what, line) => {
    expect(gatewayRetryOf(line)).toBeUndefined();
  });
});
