/**
 * `npm run event -- KIND [OPTIONS]`: prints an event as a function receives it, as
 * JSON, ready to edit and to run with `npm run invoke` (like `sam local
 * generate-event`). Each kind is built by the code the local runtime builds its own
 * events with (./runtime/sample-events.ts; docs/local-commands.md).
 */
import { parseCommandLine, refuseArguments } from '#platform/command-line.ts';
import { readInstance } from '#platform/instance.ts';
import { exitWithError, instanceFile } from '#platform/serve.ts';
import {
  newOrderId,
  ORDER_TOPIC,
  parseCount,
  parseHeader,
  SampleEventError,
  type SampleRecord,
  sampleHttpEvent,
  sampleMskEvent,
  sampleOrderPlaced,
  sampleOrderRequest,
} from './runtime/sample-events.ts';
import { scheduledEvent } from './runtime/scheduled-event.ts';

const USAGE = `usage: npm run event -- KIND [OPTIONS]

Prints an event as a function receives it, as JSON on stdout, ready to edit and to
run with 'npm run invoke -- FUNCTION --event FILE'. To redirect it, keep npm's own
lines out with -s:  npm run -s event -- msk --order > order.json

Kinds:
  msk        an Amazon MSK batch (aws:kafka), as the event source mapping builds it
  http       an API Gateway HTTP API request (payload format 2.0), as the local HTTP API
             builds it (the route is read from the CDK app)
  schedule   an EventBridge scheduled event, as the dlq-redrive schedule sends it

msk options:
  --topic T               the records' topic (default with --order: ${ORDER_TOPIC})
  --value TEXT            a record with this value, e.g. '{"hello":1}' (repeatable)
  --order                 a record with a valid OrderPlaced.v1, keyed by its order id and
                          with the publisher's headers: the payment function accepts it
                          (repeatable; after the --value records)
  --order-id ID           the order id of --order (default: order-<random>; repeated
                          --order: ID-2, ID-3...)
  --key K                 the --value records' key (default: none; --order records are
                          keyed by their order id)
  --header NAME=VALUE     a header on every record (repeatable)
  --partition N           the records' partition (default 0)
  --offset N              the first record's offset (default 0); the next ones follow

http options:
  --method M              default GET, or POST with a body
  --path P                the path, and the query after ? (default /)
  --body TEXT             the request body (content-type application/json unless a
                          --header says otherwise)
  --order                 the body of a valid POST /orders (method POST and path /orders
                          unless given); --order-id ID as above
  --header 'NAME: VALUE'  a request header (repeatable)
  --stage NAME            the CDK stage whose routes are read (default dev)

  -h, --help              print this and exit

Examples:
  npm run -s event -- msk --order > order.json
  npm run -s event -- msk --topic order.placed.v1 --value 'not json' --order
  npm run -s event -- http --method GET --path /orders/order-1
  npm run -s event -- http --order | npm run invoke -- order-api --event -`;

const KINDS = ['msk', 'http', 'schedule'] as const;
type Kind = (typeof KINDS)[number];

/** The options each kind takes; any other given is refused. */
const OPTIONS_OF: Readonly<Record<Kind, readonly string[]>> = {
  msk: [
    'topic',
    'value',
    'order',
    'order-id',
    'key',
    'header',
    'partition',
    'offset',
  ],
  http: ['method', 'path', 'body', 'order', 'order-id', 'header', 'stage'],
  schedule: [],
};

const { values, positionals } = parseCommandLine(USAGE, {
  allowPositionals: true,
  options: {
    topic: { type: 'string' },
    value: { type: 'string', multiple: true },
    order: { type: 'boolean', multiple: true },
    'order-id': { type: 'string' },
    key: { type: 'string' },
    header: { type: 'string', multiple: true },
    partition: { type: 'string' },
    offset: { type: 'string' },
    method: { type: 'string' },
    path: { type: 'string' },
    body: { type: 'string' },
    stage: { type: 'string' },
  },
});

function checkKind(): Kind {
  const [kind, ...extra] = positionals;
  if (kind === undefined) {
    refuseArguments(`name a kind of event: ${KINDS.join(', ')}`, USAGE);
  }
  if (!KINDS.includes(kind as Kind)) {
    refuseArguments(
      `unknown kind of event '${kind}'; the kinds are ${KINDS.join(', ')}`,
    );
  }
  if (extra.length > 0) {
    refuseArguments(`unexpected argument '${extra[0]}'`, USAGE);
  }
  const allowed = OPTIONS_OF[kind as Kind];
  const stray = Object.keys(values).find(
    (option) => option !== 'help' && !allowed.includes(option),
  );
  if (stray !== undefined) {
    refuseArguments(
      `--${stray} is not an option of '${kind}' (see npm run event -- --help)`,
    );
  }
  return kind as Kind;
}

/** The ids of the --order records: --order-id, then -2, -3...; or fresh ones. */
function orderIds(): string[] {
  const count = values.order?.length ?? 0;
  const given = values['order-id'];
  return Array.from({ length: count }, (_, i) =>
    given === undefined ? newOrderId() : i === 0 ? given : `${given}-${i + 1}`,
  );
}

/** The brokers of the running platform, for `bootstrapServers`: as invoke would use. */
function brokers(): readonly string[] {
  return (
    (process.env.KAFKA_BROKERS || undefined)?.split(',') ??
    readInstance(instanceFile())?.kafkaBrokers ?? ['127.0.0.1:9092']
  );
}

function mskEvent() {
  const headers = (values.header ?? []).map(parseHeader);
  const key = values.key;
  const records: SampleRecord[] = [
    ...(values.value ?? []).map((value) => ({
      ...(key === undefined ? {} : { key }),
      value,
      headers,
    })),
    ...orderIds().map((orderId) => {
      const order = sampleOrderPlaced(orderId);
      return { ...order, headers: [...order.headers, ...headers] };
    }),
  ];
  if (records.length === 0) {
    throw new SampleEventError(
      'an msk event needs records: give --value TEXT or --order',
    );
  }
  const topic = values.topic ?? (values.order ? ORDER_TOPIC : undefined);
  if (topic === undefined) {
    throw new SampleEventError('an msk event of --value records needs --topic');
  }
  return sampleMskEvent({
    topic,
    partition: parseCount(values.partition ?? '0', '--partition'),
    offset: parseCount(values.offset ?? '0', '--offset'),
    records,
    brokers: brokers(),
  });
}

async function httpEvent() {
  const order = (values.order?.length ?? 0) > 0;
  if (order && values.body !== undefined) {
    throw new SampleEventError('give --body or --order, not both');
  }
  if ((values.order?.length ?? 0) > 1) {
    throw new SampleEventError('an http event has one body: give --order once');
  }
  const body = order
    ? JSON.stringify(sampleOrderRequest(orderIds()[0] as string))
    : values.body;
  // The CDK app is loaded only here: msk and schedule need none of it.
  const { readSystem, synthesizeTemplate } = await import(
    './runtime/template.ts'
  );
  // Only the routes and function names are read: the endpoints do not matter.
  const model = readSystem(synthesizeTemplate(values.stage ?? 'dev'), {
    brokers: brokers(),
    dynamodbEndpoint: 'http://127.0.0.1:8000',
  });
  const { event, route } = sampleHttpEvent(
    {
      method: values.method ?? (body === undefined ? 'GET' : 'POST'),
      path: values.path ?? (order ? '/orders' : '/'),
      headers: (values.header ?? []).map(parseHeader),
      ...(body === undefined ? {} : { body }),
    },
    model.routes,
  );
  const target = model.functions.find(
    (fn) => fn.logicalId === route.functionLogicalId,
  );
  process.stderr.write(
    `${route.routeKey} -> ${target?.name ?? route.functionLogicalId}: npm run invoke -- ${target?.name ?? '<function>'} --event <file>\n`,
  );
  return event;
}

async function main(): Promise<void> {
  const kind = checkKind();
  let event: unknown;
  try {
    event =
      kind === 'msk'
        ? mskEvent()
        : kind === 'http'
          ? await httpEvent()
          : scheduledEvent();
  } catch (error) {
    if (error instanceof SampleEventError) refuseArguments(error.message);
    throw error;
  }
  process.stdout.write(`${formatJson(event)}\n`);
}

/**
 * Indented JSON, with lists of numbers on one line: a header's bytes stay one
 * readable line instead of one line per byte.
 */
function formatJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    /\[\s+(-?\d+(?:,\s+-?\d+)*)\s+\]/g,
    (_, numbers: string) => `[${numbers.split(/,\s+/).join(', ')}]`,
  );
}

main().catch(exitWithError);
