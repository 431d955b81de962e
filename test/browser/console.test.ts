/**
 * The local console (`/_console`, issue #20) in a real browser: Debian's chromium,
 * driven headless by playwright-core, against `npm run dev`'s own code path
 * (startLocalSystem) on this project's broker and DynamoDB Local. Every step asserts
 * through the page's data-testid contract, as a person would see it: place an order
 * from the form and watch it reach PAID; send a poison record, correct its dead letter
 * in the page and redrive it; watch that order's timeline end in a refund. How to run
 * it, and what CI installs: docs/console-test.md.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import {
  type Browser,
  chromium,
  type Locator,
  type Page,
  type Response,
} from 'playwright-core';
import {
  afterAll,
  beforeAll,
  beforeEach,
  describe,
  expect,
  inject,
  it,
  onTestFailed,
} from 'vitest';
import { HEADERS, TOPICS } from '#domain/events.ts';
import { pollUntil } from '#platform/wait.ts';
import {
  type LocalSystem,
  startLocalSystem,
} from '../../local/runtime/system.ts';
import { PIPELINE_MS } from '../integration/deadlines.ts';
import { orderRequest } from '../integration/order-request.ts';
import { findChromium } from './chromium.ts';

/**
 * What the page shows after a click that asks nothing of Kafka: a view switch, a
 * detail opened, a local fetch answered. Seen: under 0.1 s quiet; the deadline only
 * bounds how long a broken page takes to fail.
 */
const SHOWN_MS = 30_000;

/** Where the screenshots go (gitignored): one per view. */
const SCREENSHOTS = 'test-results/console';

const chromiumLookup = findChromium(process.env);
const inCi = Boolean(process.env.CI) && process.env.CI !== 'false';
// Without a browser: CI fails (beforeAll throws the one-line fix); a laptop skips,
// saying why.
const runs = chromiumLookup.path !== undefined || inCi;
if (!runs) {
  console.warn(`browser test skipped: ${chromiumLookup.reason}`);
}

const run = randomUUID().slice(0, 8);
const logs: string[] = [];
let system: LocalSystem | undefined;
let browser: Browser | undefined;
let page: Page;
/** Whether the first step opened the console: later steps fail at once without it. */
let opened = false;
/** Whether the dead letter was redriven: the last step follows what it caused. */
let redriven = false;

/** The running system's URL (beforeAll started it). */
function url(path: string): string {
  if (!system) throw new Error('the local system did not start');
  return `${system.url}${path}`;
}

/**
 * Clicks `button` and returns the answer of the request it sends (the first that
 * `matches`), clicking again after a 503's Retry-After, as a careful person would:
 * on a loaded machine a dependency can be slow enough for the API to refuse, and a
 * 503 promises that nothing happened. A later 409 whose type is `doneType` means an
 * earlier attempt did it.
 */
async function clickUntilAnswered(
  button: Locator,
  matches: (response: Response) => boolean,
  doneType: string,
): Promise<{ status: number; body: unknown }> {
  const deadline = Date.now() + PIPELINE_MS;
  let refused = 0;
  for (;;) {
    const [response] = await Promise.all([
      page.waitForResponse(matches, { timeout: PIPELINE_MS }),
      button.click(),
    ]);
    const body: unknown = await response.json().catch(() => null);
    const type = (body as { type?: unknown } | null)?.type;
    if (response.status() === 409 && refused > 0 && type === doneType) {
      return { status: 200, body };
    }
    if (response.status() !== 503 || Date.now() > deadline) {
      return { status: response.status(), body };
    }
    refused += 1;
    await delay(Number(response.headers()['retry-after'] ?? 1) * 1000);
  }
}

/**
 * The open timeline's entries of one kind, in the page's order, each as the one of
 * `names` it shows as a text of its own (an element whose whole text is the event
 * type or the function), or null. Whole texts, so that `payment` is not found in an
 * entry that only mentions `payment.processed.v1`.
 */
async function timelineNames(
  kind: 'event' | 'invocation',
  names: readonly string[],
): Promise<(string | null)[]> {
  const entries = page
    .getByTestId('order-detail')
    .getByTestId('timeline')
    .locator(`[data-testid="timeline-entry"][data-kind="${kind}"]`);
  const shown: (string | null)[] = [];
  for (const entry of await entries.all()) {
    let found: string | null = null;
    for (const name of names) {
      if ((await entry.getByText(name, { exact: true }).count()) > 0) {
        found = name;
        break;
      }
    }
    shown.push(found);
  }
  return shown;
}

/**
 * Whether `shown` holds `names` in this order (each after the one before), as a
 * timeline sorted by time must; other entries may come between.
 */
function inOrder(
  shown: readonly (string | null)[],
  names: readonly string[],
): boolean {
  let from = 0;
  for (const name of names) {
    const at = shown.indexOf(name, from);
    if (at < 0) return false;
    from = at + 1;
  }
  return true;
}

/**
 * The text `locator` shows now, or null while it is not there: what a poll reads,
 * at its own pace, rather than waiting inside each try.
 */
async function shownText(locator: Locator): Promise<string | null> {
  return locator.textContent({ timeout: 1_000 }).catch(() => null);
}

/** A response's path, decoded (`:` in a dead-letter id may come encoded or not). */
function pathOf(response: Response): string {
  return decodeURIComponent(new URL(response.url()).pathname);
}

/** Opens a view from the navigation. */
async function open(view: 'orders' | 'flow' | 'deadletters') {
  await page.getByTestId(`nav-${view}`).click();
}

/** An order row of the list, by its order id. */
function orderRow(orderId: string): Locator {
  return page
    .getByTestId('orders-list')
    .locator(`[data-testid="order-row"][data-order-id="${orderId}"]`);
}

/** GETs an admin route with the token the page itself was given; null unless 200. */
async function admin<T>(path: string): Promise<T | null> {
  const answer = await fetch(url(path), {
    headers: { authorization: `Bearer ${system?.adminToken}` },
  });
  return answer.ok ? ((await answer.json()) as T) : null;
}

/** What the browser test reads of `GET /dead-letters/{id}` (DeadLetterView). */
interface Letter {
  readonly id: string;
  readonly status: string;
  readonly original: { readonly keyText: string | null };
  readonly history: readonly {
    readonly action: string;
    readonly note: string | null;
    readonly correction?: { readonly valueText: string | null } | null;
  }[];
}

describe.runIf(runs)('the local console in a browser', () => {
  const placedId = `console-${run}`;
  const externalId = `ext-${run}`;

  beforeAll(async () => {
    const executablePath = chromiumLookup.path;
    if (!executablePath) throw new Error(chromiumLookup.reason);
    system = await startLocalSystem(
      {
        kafka: { brokers: inject('kafkaBrokers') },
        dynamodb: { endpoint: inject('dynamodbEndpoint') },
      },
      { port: 0, log: (line) => logs.push(line) },
    );
    // Headless; --no-sandbox as CI runs as root, where Chromium refuses its sandbox.
    browser = await chromium.launch({
      executablePath,
      args: ['--no-sandbox'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (error) => logs.push(`[page] ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') logs.push(`[page] ${message.text()}`);
    });
    // This run's screenshots only: a failed-<step>.png of an earlier run would mislead.
    rmSync(SCREENSHOTS, { recursive: true, force: true });
    mkdirSync(SCREENSHOTS, { recursive: true });
  });

  // A failed step shows what the system and the page logged meanwhile, and what the
  // page showed.
  beforeEach((context) => {
    if (!context.task.name.startsWith('opens') && !opened) {
      throw new Error('the console did not open (see the first step)');
    }
    const from = logs.length;
    const shot = `${SCREENSHOTS}/failed-${context.task.name.split(' ')[0]}.png`;
    onTestFailed(async () => {
      console.error(
        `the system's and the page's log during this test:\n${logs.slice(from).join('\n')}`,
      );
      // What the page showed when the step failed, beside the views' screenshots.
      await page?.screenshot({ path: shot, fullPage: true }).catch(() => {});
    });
  });

  afterAll(async () => {
    try {
      await browser?.close();
    } finally {
      await system?.stop();
    }
  });

  it('opens at /_console, live, in well under 10 s', async () => {
    // Act
    const answer = await page.goto(url('/_console'), { waitUntil: 'load' });

    // Assess: the page, its admin token, and the live stream connected.
    expect(answer?.status()).toBe(200);
    expect(
      await page
        .locator('meta[name="admin-token"]')
        .getAttribute('content', { timeout: SHOWN_MS }),
    ).toBe(system?.adminToken);
    await page
      .locator('[data-testid="live-indicator"][data-state="live"]')
      .waitFor({ timeout: SHOWN_MS });
    opened = true;
    // The issue asks for under 1 s locally. Printed, not asserted beyond ten times
    // that: a busy 2-core machine must not fail it (docs/console-test.md).
    const loadMs = await page.evaluate(() => {
      // Runs in the page: a PerformanceNavigationTiming, a DOM type Node's lack.
      const timing = performance as unknown as {
        getEntriesByType(type: 'navigation'): {
          readonly startTime: number;
          readonly loadEventEnd: number;
        }[];
      };
      const [navigation] = timing.getEntriesByType('navigation');
      return navigation ? navigation.loadEventEnd - navigation.startTime : -1;
    });
    console.log(`console page load (navigation to load event): ${loadMs} ms`);
    expect(loadMs).toBeGreaterThan(0);
    expect(loadMs).toBeLessThan(10_000);
  });

  it('places an order from the form and shows it reach PAID on its timeline', async () => {
    // Prepare: the form's example body, with our own order id so a retry is safe.
    await open('orders');
    const form = page.getByTestId('order-form');
    const example = JSON.parse(
      await form
        .getByTestId('order-form-body')
        .inputValue({ timeout: SHOWN_MS }),
    ) as Record<string, unknown>;
    expect(example).not.toHaveProperty('orderId');
    await form
      .getByTestId('order-form-body')
      .fill(JSON.stringify({ ...example, orderId: placedId }, null, 2));

    // Act
    const placed = await clickUntilAnswered(
      form.getByTestId('order-form-submit'),
      (r) => r.request().method() === 'POST' && pathOf(r) === '/orders',
      '/problems/order-exists',
    );

    // Assess: accepted (201, or 202 when the publish was left to the outbox), shown.
    expect([201, 202]).toContain(placed.status);
    const result = form.getByTestId('order-form-result');
    await expect
      .poll(() => shownText(result), { timeout: SHOWN_MS })
      .toContain(placedId);
    expect(await result.textContent()).toMatch(/20[12]/);
    // The list updates itself (server-sent events), up to PAID.
    await expect
      .poll(() => shownText(orderRow(placedId).getByTestId('order-status')), {
        timeout: PIPELINE_MS,
      })
      .toBe('PAID');

    // Act 2: the filter, then the order's detail.
    await page.getByTestId('orders-filter').selectOption('PAID');
    await orderRow(placedId).waitFor({ timeout: SHOWN_MS });
    await page.getByTestId('orders-filter').selectOption('PENDING');
    await orderRow(placedId).waitFor({ state: 'detached', timeout: SHOWN_MS });
    await page.getByTestId('orders-filter').selectOption('');
    await orderRow(placedId).click();

    // Assess 2: every event and invocation of it, in time order.
    const detail = page.getByTestId('order-detail');
    await expect
      .poll(() => shownText(detail.getByTestId('order-detail-status')), {
        timeout: SHOWN_MS,
      })
      .toBe('PAID');
    await expect
      .poll(() => timelineNames('event', ['OrderPlaced', 'PaymentProcessed']), {
        timeout: PIPELINE_MS,
      })
      .toSatisfy((shown: (string | null)[]) =>
        inOrder(shown, ['OrderPlaced', 'PaymentProcessed']),
      );
    // The payment function charged it, then the order function recorded the charge.
    await expect
      .poll(() => timelineNames('invocation', ['payment', 'order-events']), {
        timeout: PIPELINE_MS,
      })
      .toSatisfy((shown: (string | null)[]) =>
        inOrder(shown, ['payment', 'order-events']),
      );
    await page.screenshot({
      path: `${SCREENSHOTS}/orders.png`,
      fullPage: true,
    });
  });

  it('shows each mapping with its lag, each function, and a lag chart', async () => {
    // Act
    await open('flow');

    // Assess: the mapping that charged the order has consumed it all (lag 0).
    const mapping = page
      .getByTestId('flow-mappings')
      .locator(
        `[data-testid="mapping-row"][data-topic="${TOPICS.orderPlaced}"][data-function="payment"]`,
      );
    await expect
      .poll(() => shownText(mapping.getByTestId('mapping-lag')), {
        timeout: PIPELINE_MS,
      })
      .toBe('0');
    await page
      .getByTestId('flow-functions')
      .locator('[data-testid="function-row"][data-function="payment"]')
      .waitFor({ timeout: SHOWN_MS });
    const chart = page.getByTestId('lag-chart');
    await chart.waitFor({ timeout: SHOWN_MS });
    expect(
      await chart.evaluate((element) => element.tagName.toLowerCase()),
    ).toBe('svg');
    await page.screenshot({ path: `${SCREENSHOTS}/flow.png`, fullPage: true });
  });

  it('lists a poison record as a PARKED dead letter, and redrives it corrected', async () => {
    // Prepare: the dead letters open, then an OrderPlaced whose amounts are strings
    // (it fails the schema: poison, parked at once) for an order never placed.
    await open('deadletters');
    await page.getByTestId('dl-filter-status').selectOption('PARKED');
    const { customerId, shippingAddress } = orderRequest(externalId);
    const poison = {
      eventId: randomUUID(),
      eventType: 'OrderPlaced',
      version: 1,
      occurredAt: new Date().toISOString(),
      correlationId: `browser-${run}`,
      causationId: null,
      data: {
        orderId: externalId,
        customerId,
        items: [
          {
            productId: 'sku-1',
            quantity: 2,
            unitPrice: { amount: '1999', currency: 'EUR' },
          },
        ],
        total: { amount: '3998', currency: 'EUR' },
        shippingAddress,
      },
    };
    const producer = new Kafka({
      clientId: 'browser-test',
      brokers: inject('kafkaBrokers'),
      logLevel: logLevel.NOTHING,
    }).producer();
    await producer.connect();
    try {
      await producer.send({
        topic: TOPICS.orderPlaced,
        messages: [
          {
            key: externalId,
            value: JSON.stringify(poison),
            headers: {
              [HEADERS.eventType]: 'OrderPlaced',
              [HEADERS.correlationId]: poison.correlationId,
              [HEADERS.contentType]: 'application/json',
            },
          },
        ],
      });
    } finally {
      await producer.disconnect();
    }

    // Act 1: the admin API names the letter; the open list shows it by itself.
    const letter = await pollUntil(async () => {
      const parked = await admin<{ items: Letter[] }>(
        '/dead-letters?status=PARKED&limit=100',
      );
      return parked?.items.find((item) => item.original.keyText === externalId);
    }, PIPELINE_MS);
    expect(letter, 'a PARKED dead letter keyed by the order').toBeDefined();
    const letterId = letter?.id ?? '';
    const row = page
      .getByTestId('dl-list')
      .locator(`[data-testid="dl-row"][data-id="${letterId}"]`);
    await expect
      .poll(() => shownText(row.getByTestId('dl-status')), {
        timeout: PIPELINE_MS,
      })
      .toBe('PARKED');

    // Act 2: open it, correct the amounts in the textarea, correct and redrive.
    await row.click();
    const detail = page.getByTestId('dl-detail');
    const value = detail.getByTestId('dl-value');
    const shown = JSON.parse(
      await value.inputValue({ timeout: SHOWN_MS }),
    ) as typeof poison;
    expect(shown).toEqual(poison);
    const corrected = {
      ...shown,
      data: {
        ...shown.data,
        items: shown.data.items.map((item) => ({
          ...item,
          unitPrice: {
            ...item.unitPrice,
            amount: Number(item.unitPrice.amount),
          },
        })),
        total: { ...shown.data.total, amount: Number(shown.data.total.amount) },
      },
    };
    await value.fill(JSON.stringify(corrected, null, 2));
    await detail
      .getByTestId('dl-note')
      .fill('amounts as numbers (browser test)');
    await page.screenshot({
      path: `${SCREENSHOTS}/deadletters.png`,
      fullPage: true,
    });
    const redrive = await clickUntilAnswered(
      detail.getByTestId('dl-redrive-corrected'),
      (r) =>
        r.request().method() === 'POST' &&
        pathOf(r) === `/dead-letters/${letterId}/redrive`,
      '/problems/invalid-state',
    );

    // Assess 2: the page shows 200 and REDRIVEN, and the letter is REDRIVEN with the
    // corrected value and the note.
    expect(redrive.status).toBe(200);
    await expect
      .poll(() => shownText(detail.getByTestId('dl-action-result')), {
        timeout: SHOWN_MS,
      })
      .toMatch(/200[\s\S]*REDRIVEN/);
    const stored = await admin<Letter>(
      `/dead-letters/${encodeURIComponent(letterId)}`,
    );
    const lastAction = stored?.history.at(-1);
    expect(stored?.status).toBe('REDRIVEN');
    expect(lastAction).toMatchObject({
      action: 'REDRIVEN',
      note: 'amounts as numbers (browser test)',
    });
    expect(JSON.parse(lastAction?.correction?.valueText ?? 'null')).toEqual(
      corrected,
    );
    await page.getByTestId('dl-filter-status').selectOption('REDRIVEN');
    await expect
      .poll(() => shownText(row.getByTestId('dl-status')), {
        timeout: SHOWN_MS,
      })
      .toBe('REDRIVEN');
    await page.screenshot({
      path: `${SCREENSHOTS}/deadletters-redriven.png`,
      fullPage: true,
    });
    redriven = true;
  });

  it("follows the redriven order's timeline to its refund, an orphan charge", async () => {
    if (!redriven) {
      throw new Error('the dead letter was not redriven (see the step before)');
    }
    // Act: no such order was placed through the API, so the charge is refunded
    // (docs/domain.md section 6): it is listed under orphans, REFUNDED.
    await open('orders');
    await expect
      .poll(
        async () => {
          const answer = await fetch(url('/_console/api/orders'));
          const body = (await answer.json()) as {
            orphans?: { orderId: string; status: string }[];
          };
          return body.orphans?.find((o) => o.orderId === externalId)?.status;
        },
        { timeout: PIPELINE_MS },
      )
      .toBe('REFUNDED');
    // The page lists orphans apart from orders (orphans-list, orphan-row,
    // orphan-status: the page's addition to the contract).
    const row = page
      .getByTestId('orphans-list')
      .locator(`[data-testid="orphan-row"][data-order-id="${externalId}"]`);
    await expect
      .poll(() => shownText(row.getByTestId('orphan-status')), {
        timeout: PIPELINE_MS,
      })
      .toBe('REFUNDED');
    await row.click();

    // Assess: the poison's dead letter, then the corrected OrderPlaced, the charge,
    // the orphan and the refund, in time order.
    const story = [
      'DeadLetter',
      'OrderPlaced',
      'PaymentProcessed',
      'PaymentOrphaned',
      'PaymentRefunded',
    ];
    await expect
      .poll(() => timelineNames('event', story), { timeout: PIPELINE_MS })
      .toSatisfy((shown: (string | null)[]) => inOrder(shown, story));
    await page.screenshot({
      path: `${SCREENSHOTS}/orphan.png`,
      fullPage: true,
    });
  });
});
