/** The defaults of each stage (dev and prod). */
import type { StageConfig } from './schema.ts';

/** The defaults of each stage; `cdk.json` context `stages.<stage>` overrides them. */
export const STAGE_DEFAULTS: Readonly<
  Record<string, Omit<StageConfig, 'stage'>>
> = {
  dev: {
    kafka: { mode: 'serverless', partitions: 3, retentionHours: 72 },
    esm: {
      batchSize: 100,
      maxBatchingWindowSeconds: 1,
      // Interactive: POST /orders -> PAID without a batching wait.
      orderPathBatchingWindowSeconds: 0,
      retryAttempts: 3,
      maxRecordAgeSeconds: 3_600,
      minimumPollers: 1,
      maximumPollers: 3,
      bisectBatchOnError: true,
      outageToleranceSeconds: 60,
      consumerGroupGeneration: 1,
    },
    functions: { memoryMb: 512, timeoutSeconds: 60, logRetentionDays: 7 },
    api: { throttleRate: 50, throttleBurst: 100, publicOrderRoutes: true },
    redriveEveryMinutes: 1,
    requireAlarmRecipient: false,
    retainData: false,
  },
  prod: {
    kafka: { mode: 'serverless', partitions: 6, retentionHours: 168 },
    esm: {
      batchSize: 100,
      maxBatchingWindowSeconds: 1,
      // The smallest window AWS allows: up to 100 records an invocation from 100
      // orders/s on, for at most 1 s a hop (docs/performance.md, Latency and
      // batching windows).
      orderPathBatchingWindowSeconds: 1,
      retryAttempts: 10,
      maxRecordAgeSeconds: 86_400,
      minimumPollers: 1,
      maximumPollers: 6,
      bisectBatchOnError: true,
      outageToleranceSeconds: 60,
      consumerGroupGeneration: 1,
    },
    functions: { memoryMb: 1_024, timeoutSeconds: 60, logRetentionDays: 30 },
    // No defaults for api.jwt and alarmEmail: each team brings its own (cdk.json
    // stages.prod), and the synth fails without them.
    api: { throttleRate: 500, throttleBurst: 1_000, publicOrderRoutes: false },
    redriveEveryMinutes: 1,
    requireAlarmRecipient: true,
    retainData: true,
  },
};
