/**
 * The deploy shapes the project supports, as CDK context: each stage with each kind
 * of cluster (a new MSK Serverless one, a new provisioned one, an existing one). The
 * infra tests synthesize every one (test/infra/variants.test.ts) and CI runs
 * cfn-lint on their templates (`npm run lint:templates`). The ids and ARNs are
 * examples: nothing here is deployed.
 */

/** The order routes' JWT and the alarm e-mail that prod requires. */
const SECURED = {
  api: {
    jwt: { issuer: 'https://auth.example.com/', audience: ['orders'] },
  },
  alarmEmail: 'oncall@example.com',
};

/** An existing cluster with its network (`-c mskClusterArn=... -c mskVpcId=...`). */
export const EXISTING_CLUSTER = {
  mskClusterArn:
    'arn:aws:kafka:eu-west-1:111122223333:cluster/orders/0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9-s2',
  mskVpcId: 'vpc-0a1b2c3d4e5f60718',
  mskSubnetIds: 'subnet-0a1b2c3d4e5f60711,subnet-0a1b2c3d4e5f60722',
  mskSecurityGroupId: 'sg-0a1b2c3d4e5f60733',
} as const;

/** A deploy shape: a name and the context `cdk synth` would get. */
export interface Variant {
  readonly name: string;
  /** What a new cluster is, or `existing`. */
  readonly cluster: 'serverless' | 'provisioned' | 'existing';
  readonly context: Readonly<Record<string, unknown>>;
}

/**
 * Every stage x cluster kind. The prod provisioned variant also pins the account,
 * region and AZs and reserves concurrency, the settings a production team adds.
 *
 * @example
 * ```ts
 * for (const { name, context } of VARIANTS) buildApp(new App({ context })).app.synth();
 * ```
 */
export const VARIANTS: readonly Variant[] = [
  { name: 'dev-serverless', cluster: 'serverless', context: { stage: 'dev' } },
  {
    name: 'dev-provisioned',
    cluster: 'provisioned',
    context: {
      stage: 'dev',
      stages: { dev: { kafka: { mode: 'provisioned' } } },
    },
  },
  {
    name: 'dev-existing',
    cluster: 'existing',
    context: { stage: 'dev', ...EXISTING_CLUSTER },
  },
  {
    name: 'prod-serverless',
    cluster: 'serverless',
    context: { stage: 'prod', stages: { prod: SECURED } },
  },
  {
    name: 'prod-provisioned',
    cluster: 'provisioned',
    context: {
      stage: 'prod',
      // What `cdk.context.json` holds once the CLI has looked the region's AZs up.
      'availability-zones:account=111122223333:region=eu-west-1': [
        'eu-west-1a',
        'eu-west-1b',
        'eu-west-1c',
      ],
      stages: {
        prod: {
          ...SECURED,
          kafka: { mode: 'provisioned' },
          env: { account: '111122223333', region: 'eu-west-1' },
          availabilityZones: ['eu-west-1a', 'eu-west-1b'],
          functions: {
            reservedConcurrency: {
              payment: 20,
              'order-events': 20,
              'dlq-reprocessor': 50,
            },
          },
        },
      },
    },
  },
  {
    name: 'prod-existing',
    cluster: 'existing',
    context: { stage: 'prod', stages: { prod: SECURED }, ...EXISTING_CLUSTER },
  },
];
