/**
 * `node scripts/add-dead-letter-shards.ts <table>`: gives every dead letter of a
 * DeadLetters table the `statusShard` key of its status, so that the `byStatusShard`
 * index lists it. The upgrade step for a table that held letters before the status
 * index was sharded (docs/dead-letter-index.md); idempotent.
 */
import { addStatusShards } from '#commons/dead-letter-repository.ts';
import { createDocumentClient } from '#commons/dynamodb.ts';
import { parseCommandLine, refuseArguments } from '#platform/command-line.ts';

const USAGE = `usage: node scripts/add-dead-letter-shards.ts <table>

Sets statusShard (<status>#<shard>) on every item of the DeadLetters table <table>
that lacks the one of its status, so the byStatusShard index lists it
(docs/dead-letter-index.md). Changes nothing else; safe to run beside the functions
and to run again. Uses the AWS credentials and AWS_REGION of the environment, or
DYNAMODB_ENDPOINT (e.g. DynamoDB Local) when set.

Options:
  -h, --help      print this and exit`;

const { positionals } = parseCommandLine(USAGE, {
  options: {},
  allowPositionals: true,
});
const [table, ...rest] = positionals;
if (!table || rest.length > 0) refuseArguments('name one table', USAGE);
const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
if (!region) refuseArguments('set AWS_REGION', USAGE);

const db = createDocumentClient({
  endpoint: process.env.DYNAMODB_ENDPOINT,
  region,
});
try {
  const { scanned, updated, raced } = await addStatusShards(db, table);
  console.log(
    `${table}: ${scanned} letters read, ${updated} given their statusShard` +
      (raced > 0 ? `, ${raced} changed status meanwhile: run it again` : ''),
  );
  if (raced > 0) process.exitCode = 1;
} finally {
  db.destroy();
}
