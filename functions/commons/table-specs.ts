/**
 * The DynamoDB tables, as data: the CDK stack creates them from this, the functions
 * find them through the environment variable named here, and local runs create them
 * from the synthesized template. Every key attribute is a string. Here in
 * functions/commons/ so that the functions read it without importing infra/
 * (docs/architecture.md); infra/tables.ts builds on it.
 */

export interface TableSpec {
  /** Logical name, also the construct id. */
  readonly id: 'Orders' | 'Payments' | 'DeadLetters' | 'Idempotency';
  /** The environment variable that carries the table name to the functions. */
  readonly envVar: string;
  readonly partitionKey: string;
  readonly sortKey?: string;
  readonly indexes?: readonly {
    readonly name: string;
    readonly partitionKey: string;
    readonly sortKey: string;
  }[];
  readonly timeToLiveAttribute?: string;
  /**
   * A DynamoDB stream of every change, with both images: the orders table's feeds the
   * outbox relay (docs/outbox.md).
   */
  readonly stream?: 'NEW_AND_OLD_IMAGES';
}

export const TABLES = {
  /**
   * Orders: `pk=ORDER#<id>`; `sk=SNAPSHOT` (the state, with a version), `EVENT#<version>`
   * or `APPLIED#<eventId>` (dedup guard). See `#commons/order-repository.ts`. Its
   * stream drives the outbox relay. And `pk=ORPHAN#<id>`, `sk=PAYMENT`: a payment
   * outcome whose order does not exist (`#commons/orphan-payment-repository.ts`).
   */
  orders: {
    id: 'Orders',
    envVar: 'ORDERS_TABLE',
    partitionKey: 'pk',
    sortKey: 'sk',
    stream: 'NEW_AND_OLD_IMAGES',
  },
  /**
   * Payments: `pk=ORDER#<id>`; `sk=PAYMENT` (claimed, charged, rejected or voided) and
   * `REFUND`, each created once. See `#commons/payment-repository.ts`.
   */
  payments: {
    id: 'Payments',
    envVar: 'PAYMENTS_TABLE',
    partitionKey: 'pk',
    sortKey: 'sk',
  },
  /**
   * Dead letters by id; `byStatusShard` lists them by status and finds what is due
   * (`statusShard` = `<status>#<shard>`, `sortAt`). Sharded so that one status is
   * not one hot index partition: docs/dead-letter-index.md, which also says how a
   * table created with the former `byStatus` index moves to this one.
   */
  deadLetters: {
    id: 'DeadLetters',
    envVar: 'DEAD_LETTERS_TABLE',
    partitionKey: 'id',
    indexes: [
      {
        name: 'byStatusShard',
        partitionKey: 'statusShard',
        sortKey: 'sortAt',
      },
    ],
  },
  /** Powertools idempotency records for `Idempotency-Key` (expire after 24 h). */
  idempotency: {
    id: 'Idempotency',
    envVar: 'IDEMPOTENCY_TABLE',
    partitionKey: 'id',
    timeToLiveAttribute: 'expiration',
  },
} as const satisfies Record<string, TableSpec>;
