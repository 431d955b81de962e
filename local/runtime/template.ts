/**
 * The template reader: the system as the synthesized CloudFormation template
 * describes it, turned into what a local run needs (functions with a resolved
 * environment, event source mappings, HTTP routes, tables, topics and
 * schedules). Nothing here repeats a route, topic, table or mapping: everything
 * is read back from the template that deploys.
 *
 * This module is the reader's one entry point, kept because much of the local
 * runtime, the tests, the benchmarks and the scripts import it; the work is in
 * ./template/, one module per resource type plus reference resolution.
 */
export {
  InvalidTemplateError,
  TemplateSynthesisError,
  UnresolvableReferenceError,
  UnsupportedTemplateError,
} from './template/errors.ts';
export { localFunctionNames } from './template/functions.ts';
export type {
  CfnResource,
  CfnTemplate,
  LocalEndpoints,
  LocalFunction,
  LocalMapping,
  LocalRoute,
  LocalSchedule,
  LocalStreamMapping,
  LocalTable,
  LocalTopic,
  MappingSettings,
  SystemModel,
} from './template/model.ts';
export { readSystem } from './template/read-system.ts';
export { LOCAL_ACCOUNT, localFunctionArn } from './template/references.ts';
export { synthesizeTemplate } from './template/synthesize.ts';
