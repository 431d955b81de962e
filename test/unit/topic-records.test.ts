import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PlatformError } from '#platform/errors.ts';
import {
  decodeRecord,
  formatRecord,
  type OutgoingRecord,
  parseCount,
  parseHeaders,
  parseRecordLine,
  type TailedRecord,
} from '#platform/topic-records.ts';

const NO_DEFAULTS: OutgoingRecord = { key: null, value: null, headers: {} };

/** A consumed message as kafkajs hands it over: bytes, and the timestamp in ms as text. */
function message(overrides: Partial<Parameters<typeof decodeRecord>[2]> = {}) {
  return {
    key: Buffer.from('order-1'),
    value: Buffer.from('{"orderId":"order-1","total":{"amount":5}}'),
    headers: {
      'event-type': Buffer.from('OrderPlaced'),
      city: Buffer.from('Köln'),
    },
    offset: '41',
    timestamp: String(Date.parse('2026-01-02T03:04:05.678Z')),
    ...overrides,
  };
}

describe('parseHeaders', () => {
  it('splits NAME=VALUE at the first =, keeps empty values and repeated names', () => {
    // Act
    const headers = parseHeaders([
      'event-type=OrderPlaced',
      '__proto__=p',
      'trace=a=b',
      'empty=',
      'h=1',
      'h=2',
    ]);

    // Assess
    expect(Object.keys(headers)).toContain('__proto__');
    expect(headers).toEqual({
      'event-type': 'OrderPlaced',
      ['__proto__']: 'p',
      trace: 'a=b',
      empty: '',
      h: ['1', '2'],
    });
  });

  it.each(['no-equals', '=value'])(
    'refuses %j in one line naming it and the fix',
    (raw) => {
      // Act
      const refuse = () => parseHeaders([raw]);

      // Assess
      expect(refuse).toThrow(PlatformError);
      expect(refuse).toThrow(`--header ${raw}: expected NAME=VALUE`);
    },
  );
});

describe('parseCount', () => {
  it('reads a whole number', () => {
    expect(parseCount('0', '--partition')).toBe(0);
    expect(parseCount('12', '--max', 1)).toBe(12);
  });

  it.each([
    ['-1', 0],
    ['1.5', 0],
    ['x', 0],
    ['', 0],
    ['0', 1],
    ['2147483648', 0],
  ])('refuses %j (at least %d)', (raw, min) => {
    expect(() => parseCount(raw, '--max', min)).toThrow(
      `--max ${raw}: expected a whole number`,
    );
  });
});

describe('parseRecordLine', () => {
  const defaults: OutgoingRecord = {
    key: 'default-key',
    value: null,
    headers: { source: 'cli' },
  };

  it('takes a text line as the value, with the defaults', () => {
    // Act
    const record = parseRecordLine('hello {world}', 'text', 1, defaults);

    // Assess
    expect(record).toEqual({
      key: 'default-key',
      value: 'hello {world}',
      headers: { source: 'cli' },
    });
  });

  it.each(['text', 'json-lines'] as const)(
    'skips a blank line (%s)',
    (format) => {
      expect(parseRecordLine('   ', format, 1, defaults)).toBeUndefined();
    },
  );

  it('reads a JSON line: a JSON value is sent as its text, headers add to the defaults', () => {
    // Act
    const record = parseRecordLine(
      '{"key":"o-1","value":{"total":5},"headers":{"h":"v","source":"line"}}',
      'json-lines',
      1,
      defaults,
    );

    // Assess
    expect(record).toEqual({
      key: 'o-1',
      value: '{"total":5}',
      headers: { source: ['cli', 'line'], h: 'v' },
    });
    expect(defaults.headers).toEqual({ source: 'cli' });
  });

  it('keeps a header whatever its name', () => {
    // Act
    const record = parseRecordLine(
      '{"value":"v","headers":{"__proto__":"p","constructor":"c"}}',
      'json-lines',
      1,
      NO_DEFAULTS,
    );

    // Assess
    expect(Object.entries(record?.headers ?? {})).toEqual([
      ['__proto__', 'p'],
      ['constructor', 'c'],
    ]);
  });

  it('keeps a string value as it is, null as a tombstone, and a null key', () => {
    // Act
    const text = parseRecordLine('{"value":"7"}', 'json-lines', 1, defaults);
    const tombstone = parseRecordLine(
      '{"key":null,"value":null}',
      'json-lines',
      2,
      NO_DEFAULTS,
    );

    // Assess
    expect(text).toEqual({ ...defaults, value: '7' });
    expect(tombstone).toEqual({ key: null, value: null, headers: {} });
  });

  it.each([
    ['not json', /stdin line 4: not JSON/],
    ['[1]', /stdin line 4: .*expected object/],
    ['{"key":"k"}', /stdin line 4: value: missing/],
    ['{"key":3,"value":1}', /stdin line 4: key: /],
    ['{"value":1,"headers":{"h":1}}', /stdin line 4: headers\.h: /],
  ])(
    'refuses %j naming the line, what was sent and the fix',
    (line, message) => {
      // Act
      const refuse = () => parseRecordLine(line, 'json-lines', 4, defaults);

      // Assess
      expect(refuse).toThrow(message);
      expect(refuse).toThrow(/the records before it were produced, none from/);
      try {
        refuse();
      } catch (error) {
        expect((error as PlatformError).fix).toMatch(/one JSON object a line/);
      }
    },
  );
});

describe('decodeRecord', () => {
  it('decodes key, value and headers as UTF-8, the offset as a number and the time as ISO', () => {
    // Act
    const record = decodeRecord('orders.v1', 2, message());

    // Assess
    expect(record).toEqual({
      topic: 'orders.v1',
      partition: 2,
      offset: 41,
      timestamp: '2026-01-02T03:04:05.678Z',
      key: 'order-1',
      value: '{"orderId":"order-1","total":{"amount":5}}',
      headers: { 'event-type': 'OrderPlaced', city: 'Köln' },
    });
  });

  it('keeps a null key and value, and every value of a repeated header', () => {
    // Act
    const record = decodeRecord(
      'orders.v1',
      0,
      message({
        key: null,
        value: null,
        headers: { h: [Buffer.from('1'), Buffer.from('2')] },
      }),
    );

    // Assess
    expect(record).toMatchObject({
      key: null,
      value: null,
      headers: { h: ['1', '2'] },
    });
  });
});

describe('formatRecord', () => {
  it('prints the place and time, the key, each header and the value as pretty JSON', () => {
    // Act
    const text = formatRecord(decodeRecord('orders.v1', 2, message()));

    // Assess
    expect(text).toBe(
      [
        'orders.v1  partition 2  offset 41  2026-01-02T03:04:05.678Z',
        '  key     order-1',
        '  header  event-type: OrderPlaced',
        '  header  city: Köln',
        '  value   {',
        '            "orderId": "order-1",',
        '            "total": {',
        '              "amount": 5',
        '            }',
        '          }',
        '',
      ].join('\n'),
    );
  });

  it('prints text that is not JSON as it is, and says when key or value is null', () => {
    // Prepare
    const record: TailedRecord = {
      ...decodeRecord('t', 0, message()),
      key: null,
      value: 'not {json',
      headers: {},
    };

    // Act
    const text = formatRecord(record);
    const tombstone = formatRecord({ ...record, value: null });

    // Assess
    expect(text).toContain('  key     (none)\n  value   not {json\n');
    expect(tombstone).toContain('  value   (null)\n');
  });
});

describe('tail --json into produce --json-lines', () => {
  it('gives back the same key, value and headers, whatever they hold', () => {
    const text = fc.string({ unit: 'grapheme' });
    fc.assert(
      fc.property(
        fc.option(text, { nil: null }),
        fc.option(text, { nil: null }),
        fc.dictionary(
          text,
          fc.oneof(text, fc.array(text, { minLength: 2, maxLength: 3 })),
          { noNullPrototype: true },
        ),
        (key, value, headers) => {
          // Prepare: what a consumer hands over.
          const consumed = message({
            key: key === null ? null : Buffer.from(key),
            value: value === null ? null : Buffer.from(value),
            headers: Object.fromEntries(
              Object.entries(headers).map(([name, values]) => [
                name,
                Array.isArray(values)
                  ? values.map((one) => Buffer.from(one))
                  : Buffer.from(values),
              ]),
            ),
          });

          // Act
          const line = JSON.stringify(decodeRecord('t', 0, consumed));
          const again = parseRecordLine(line, 'json-lines', 1, NO_DEFAULTS);

          // Assess
          expect(again).toEqual({ key, value, headers });
        },
      ),
    );
  });
});
