/**
 * How long the integration tests wait for a condition before they fail, one number per
 * kind of wait. Each is sized from measurement on the 2-core CI machine, quiet and with
 * two busy CPU loops beside `npm test`, with room above the slowest time seen: a
 * deadline only bounds how long a broken test takes to fail, so a generous one costs
 * nothing while the tests pass. Wall-clock times are never asserted.
 */

/**
 * A broker or store state that settles in milliseconds once an admin call returns
 * (topic metadata and configs, committed offsets). Seen: under 0.1 s quiet, under 2 s
 * loaded.
 */
export const SETTLES_MS = 30_000;

/**
 * Records produced and received through a consumer group, a group's join included.
 * Seen: 0.3-1 s quiet, up to 19 s loaded (a join that waits out a rebalance).
 */
export const CONSUMED_MS = 90_000;

/**
 * An order through the whole local system: HTTP API, Kafka, the functions, DynamoDB.
 * Seen: 2-6 s quiet; loaded, 13 s for the first order (cold sandboxes), and 20-40 s
 * where the machine stalled a broker or DynamoDB Local.
 */
export const PIPELINE_MS = 120_000;
