/**
 * The checks across settings of a stage's configuration: who may call and who hears
 * the alarms, an existing cluster's network, and the retry policy against the
 * stage's broker outage.
 */
import type * as z from 'zod';
import { guaranteedOutageSeconds } from '#domain/outage-policy.ts';
import { StageConfig } from './schema.ts';

/**
 * {@link StageConfig} with the checks across settings: a secured stage names who may
 * call the order routes and who hears its alarms; the retry policy must ride out the
 * stage's broker outage (docs/broker-outages.md, The policy).
 */
export const CheckedStageConfig = StageConfig.superRefine((config, issues) => {
  if (!config.api.jwt && !config.api.publicOrderRoutes) {
    issues.addIssue({
      code: 'custom',
      path: ['api', 'jwt'],
      message: `api.jwt (issuer and audience) is required in ${config.stage}, or api.publicOrderRoutes: true; without either the order routes would be public`,
    });
  }
  if (
    config.requireAlarmRecipient &&
    !config.alarmEmail &&
    !config.alarmTopicArn
  ) {
    issues.addIssue({
      code: 'custom',
      path: ['alarmEmail'],
      message: `alarmEmail or alarmTopicArn is required in ${config.stage}; without either nobody hears the alarms`,
    });
  }
  existingClusterChecks(config, issues);
  // docs/broker-outages.md, "The policy": the consumers' in-invocation waits alone
  // must cover the outage, as AWS does not document its retry pacing.
  const { esm, functions } = config;
  const covered = guaranteedOutageSeconds({
    retryAttempts: esm.retryAttempts,
    timeoutSeconds: functions.timeoutSeconds,
  });
  if (covered < esm.outageToleranceSeconds) {
    issues.addIssue({
      code: 'custom',
      path: ['esm', 'retryAttempts'],
      message: `${esm.retryAttempts} retries with a ${functions.timeoutSeconds} s function timeout ride out ${covered} s of broker outage, not the ${esm.outageToleranceSeconds} s of outageToleranceSeconds: raise the retries or the timeout`,
    });
  }
  // A record may wait out the outage unfetched, then use all its attempts: the age
  // limit must not cut them short.
  const longestWait =
    esm.outageToleranceSeconds +
    (esm.retryAttempts + 1) * functions.timeoutSeconds;
  if (esm.maxRecordAgeSeconds < longestWait) {
    issues.addIssue({
      code: 'custom',
      path: ['esm', 'maxRecordAgeSeconds'],
      message: `${esm.maxRecordAgeSeconds} s would expire records that are still within their retries: at least outageToleranceSeconds + (retryAttempts + 1) x timeoutSeconds = ${longestWait} s`,
    });
  }
});

/**
 * An existing cluster brings its network: the VPC, the subnets for the functions and
 * the cluster's security group are all required with it, and none without it.
 */
function existingClusterChecks(
  config: StageConfig,
  issues: z.RefinementCtx,
): void {
  const { kafka } = config;
  const network = {
    vpcId: kafka.vpcId,
    subnetIds: kafka.subnetIds,
    securityGroupId: kafka.securityGroupId,
  };
  const given = Object.keys(network).filter(
    (key) => network[key as keyof typeof network] !== undefined,
  );
  if (kafka.clusterArn) {
    const missing = Object.keys(network).filter((key) => !given.includes(key));
    if (missing.length > 0) {
      issues.addIssue({
        code: 'custom',
        path: ['kafka', missing[0] as string],
        message: `an existing cluster (kafka.clusterArn) needs its network: ${missing.map((key) => `kafka.${key}`).join(', ')} missing (-c mskVpcId=vpc-... -c mskSubnetIds=subnet-a,subnet-b -c mskSecurityGroupId=sg-...; aws kafka describe-cluster-v2 --cluster-arn <arn> shows them)`,
      });
    }
    if (config.availabilityZones) {
      issues.addIssue({
        code: 'custom',
        path: ['availabilityZones'],
        message:
          "availabilityZones is for a new VPC; with an existing cluster the functions go into kafka.subnetIds, in those subnets' AZs",
      });
    }
    const region = kafka.clusterArn.split(':')[3];
    if (config.env && region !== config.env.region) {
      issues.addIssue({
        code: 'custom',
        path: ['kafka', 'clusterArn'],
        message: `the cluster is in ${region}, the stack in ${config.env.region}: Lambda reads an MSK cluster of its own region only`,
      });
    }
  } else if (given.length > 0) {
    issues.addIssue({
      code: 'custom',
      path: ['kafka', given[0] as string],
      message: `${given.map((key) => `kafka.${key}`).join(', ')} only go with an existing cluster (kafka.clusterArn); a new cluster gets a new VPC`,
    });
  }
  const zones = config.availabilityZones ?? [];
  const region = config.env?.region;
  const foreign = zones.filter(
    (zone) => region !== undefined && zone.slice(0, -1) !== region,
  );
  if (foreign.length > 0) {
    issues.addIssue({
      code: 'custom',
      path: ['availabilityZones'],
      message: `${foreign.join(', ')} not in the stack's region ${region}`,
    });
  }
}
