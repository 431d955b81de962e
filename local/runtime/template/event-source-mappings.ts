/**
 * Reading `AWS::Lambda::EventSourceMapping`s: Kafka mappings and DynamoDB
 * stream mappings, every property with Lambda's defaults.
 */
import { isRecord } from '#commons/guards.ts';
import { InvalidTemplateError, UnsupportedTemplateError } from './errors.ts';
import type {
  CfnResource,
  CfnTemplate,
  LocalMapping,
  LocalStreamMapping,
  MappingSettings,
} from './model.ts';
import { numberOr } from './property-values.ts';
import { functionOf } from './references.ts';

/** The Kafka mappings: every event source mapping not on a DynamoDB stream. */
export function readMappings(
  resources: CfnTemplate['Resources'],
  names: ReadonlyMap<string, string>,
): LocalMapping[] {
  return Object.entries(resources)
    .filter(
      ([, r]) =>
        r.Type === 'AWS::Lambda::EventSourceMapping' &&
        streamTableOf(r, resources) === undefined,
    )
    .map(([logicalId, resource]) =>
      readKafkaMapping(logicalId, resource, names),
    );
}

/** One Kafka mapping: its one topic, consumer group, starting position and pollers. */
function readKafkaMapping(
  logicalId: string,
  resource: CfnResource,
  names: ReadonlyMap<string, string>,
): LocalMapping {
  const props = resource.Properties ?? {};
  const { destination, ...settings } = readMappingSettings(
    logicalId,
    props,
    names,
  );
  const topics = props.Topics;
  if (
    !Array.isArray(topics) ||
    topics.length !== 1 ||
    typeof topics[0] !== 'string'
  ) {
    throw new UnsupportedTemplateError(
      `event source mapping ${logicalId}: a Kafka mapping has exactly one topic, got ${JSON.stringify(topics)}`,
    );
  }
  const kafkaConfig =
    props.AmazonManagedKafkaEventSourceConfig ??
    props.SelfManagedKafkaEventSourceConfig;
  const groupId = isRecord(kafkaConfig)
    ? kafkaConfig.ConsumerGroupId
    : undefined;
  const startingPosition = props.StartingPosition ?? 'LATEST';
  if (
    startingPosition !== 'TRIM_HORIZON' &&
    startingPosition !== 'LATEST' &&
    startingPosition !== 'AT_TIMESTAMP'
  ) {
    throw new InvalidTemplateError(
      `event source mapping ${logicalId}: StartingPosition ${JSON.stringify(startingPosition)}`,
    );
  }
  if (destination !== undefined && typeof destination !== 'string') {
    throw new UnsupportedTemplateError(
      `event source mapping ${logicalId}: on-failure destination ${JSON.stringify(destination)} is not a kafka:// topic`,
    );
  }
  const pollers = isRecord(props.ProvisionedPollerConfig)
    ? props.ProvisionedPollerConfig
    : {};
  const mapping: LocalMapping = {
    ...settings,
    topic: topics[0],
    consumerGroupId: typeof groupId === 'string' ? groupId : logicalId,
    startingPosition,
    ...(props.StartingPositionTimestamp !== undefined
      ? {
          startingPositionTimestamp: Number(props.StartingPositionTimestamp),
        }
      : {}),
    maximumBatchingWindowSeconds: numberOr(
      props.MaximumBatchingWindowInSeconds,
      0.5,
    ),
    ...(destination !== undefined ? { onFailureDestination: destination } : {}),
    ...(pollers.MinimumPollers !== undefined
      ? { minimumPollers: Number(pollers.MinimumPollers) }
      : {}),
    ...(pollers.MaximumPollers !== undefined
      ? { maximumPollers: Number(pollers.MaximumPollers) }
      : {}),
  };
  return mapping;
}

/**
 * The properties every event source mapping has, with Lambda's defaults, and its
 * on-failure destination as the template gives it.
 */
function readMappingSettings(
  logicalId: string,
  props: Record<string, unknown>,
  names: ReadonlyMap<string, string>,
): Omit<MappingSettings, 'onFailureDestination'> & { destination: unknown } {
  const destinationConfig = isRecord(props.DestinationConfig)
    ? props.DestinationConfig.OnFailure
    : undefined;
  const responseTypes = props.FunctionResponseTypes;
  const filterCriteria = isRecord(props.FilterCriteria)
    ? props.FilterCriteria.Filters
    : undefined;
  return {
    logicalId,
    functionLogicalId: functionOf(
      props.FunctionName,
      names,
      `event source mapping ${logicalId}`,
    ),
    batchSize: numberOr(props.BatchSize, 100),
    maximumRetryAttempts: numberOr(props.MaximumRetryAttempts, -1),
    maximumRecordAgeSeconds: numberOr(props.MaximumRecordAgeInSeconds, -1),
    bisectBatchOnFunctionError: props.BisectBatchOnFunctionError === true,
    reportBatchItemFailures:
      Array.isArray(responseTypes) &&
      responseTypes.includes('ReportBatchItemFailures'),
    destination: isRecord(destinationConfig)
      ? destinationConfig.Destination
      : undefined,
    enabled: props.Enabled !== false && props.Enabled !== 'false',
    filters: Array.isArray(filterCriteria)
      ? filterCriteria.flatMap((filter: unknown) =>
          isRecord(filter) && typeof filter.Pattern === 'string'
            ? [filter.Pattern]
            : [],
        )
      : [],
  };
}

/** The table whose stream a mapping reads (`Fn::GetAtt [table, StreamArn]`), if any. */
function streamTableOf(
  mapping: CfnResource,
  resources: CfnTemplate['Resources'],
): string | undefined {
  const arn = mapping.Properties?.EventSourceArn;
  const getAtt = isRecord(arn) ? arn['Fn::GetAtt'] : undefined;
  if (!Array.isArray(getAtt) || getAtt[1] !== 'StreamArn') return undefined;
  const table = resources[String(getAtt[0])];
  return table?.Type === 'AWS::DynamoDB::Table' ||
    table?.Type === 'AWS::DynamoDB::GlobalTable'
    ? String(getAtt[0])
    : undefined;
}

/** The mappings on a DynamoDB table's stream (`EventSourceArn` its `StreamArn`). */
export function readStreamMappings(
  resources: CfnTemplate['Resources'],
  names: ReadonlyMap<string, string>,
): LocalStreamMapping[] {
  return Object.entries(resources).flatMap(([logicalId, resource]) => {
    if (resource.Type !== 'AWS::Lambda::EventSourceMapping') return [];
    const tableLogicalId = streamTableOf(resource, resources);
    if (tableLogicalId === undefined) return [];
    const props = resource.Properties ?? {};
    const { destination, ...settings } = readMappingSettings(
      logicalId,
      props,
      names,
    );
    const startingPosition = props.StartingPosition ?? 'LATEST';
    if (startingPosition !== 'TRIM_HORIZON' && startingPosition !== 'LATEST') {
      throw new UnsupportedTemplateError(
        `event source mapping ${logicalId}: StartingPosition ${JSON.stringify(startingPosition)} on a DynamoDB stream`,
      );
    }
    const mapping: LocalStreamMapping = {
      ...settings,
      tableLogicalId,
      startingPosition,
      maximumBatchingWindowSeconds: numberOr(
        props.MaximumBatchingWindowInSeconds,
        0,
      ),
      parallelizationFactor: numberOr(props.ParallelizationFactor, 1),
      ...(destination !== undefined
        ? { onFailureDestination: JSON.stringify(destination) }
        : {}),
    };
    return [mapping];
  });
}
