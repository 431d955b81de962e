/**
 * The no-op function of the ESM benchmark (bench/esm.ts): it runs in a local Lambda
 * sandbox like any function, receives the whole event and does nothing with it.
 */
export const handler = async (): Promise<{ batchItemFailures: [] }> => ({
  batchItemFailures: [],
});
