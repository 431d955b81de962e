/** Why a template cannot be read into a local system: one class per failure. */

/** A template value (an intrinsic function) that has no local meaning. */
export class UnresolvableReferenceError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UnresolvableReferenceError';
  }
}

/** Valid CloudFormation that the local runtime cannot run, e.g. a cron schedule. */
export class UnsupportedTemplateError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UnsupportedTemplateError';
  }
}

/** The template contradicts itself: a dangling reference, a missing property. */
export class InvalidTemplateError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidTemplateError';
  }
}

/** The CDK app failed to synthesize (a construct threw, or cdk-nag refused it). */
export class TemplateSynthesisError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TemplateSynthesisError';
  }
}
