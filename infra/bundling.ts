/**
 * How every function of ours is bundled: one place, read by the functions' constructs
 * (`OrdersFunction`, the topic provisioner) and by `npm run bundle-sizes`, which
 * bundles the same entries again with the same esbuild options to list what each
 * bundle contains. Why each choice: docs/performance.md section "Cold start".
 */
import {
  type BundlingOptions,
  OutputFormat,
} from 'aws-cdk-lib/aws-lambda-nodejs';

/**
 * Packages left out of every bundle. Each is reached only through a dynamic
 * `import()` on a path a deployed function does not take; should one be taken, the
 * Lambda Node.js runtime's own AWS SDK v3 provides the package (it ships every
 * `@aws-sdk` client and their credential providers), in the runtime's version.
 * Everything else of the SDK is bundled: the tested versions, and a faster cold
 * start than resolving the runtime's packages (measured: docs/performance.md).
 */
export const LAZY_EXTERNALS = [
  // Broker discovery from MSK_CLUSTER_ARN (functions/commons/kafka-publisher/broker-discovery.ts):
  // the stack always sets KAFKA_BROKERS, so a deployed function never discovers.
  '@aws-sdk/client-kafka',
  // The browser user-agent parser of @aws-sdk/core: imported only in a browser.
  'bowser',
  // The default credential chain tries the environment first, which is where
  // Lambda puts the role's credentials; the other providers (profile files, SSO,
  // web identity, a credential process, container and instance metadata) are
  // imported only when the environment has none.
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-web-identity',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-login',
  '@aws-sdk/credential-provider-http',
  '@smithy/credential-provider-imds',
] as const;

/**
 * The bundling of every function: one minified CommonJS file (`index.js`) for
 * Node.js 24, without a source map.
 *
 * - CommonJS, not ESM: an ES module takes Node's built-ins (`node:http`, ...)
 *   through their ESM facade, which reads every export and so loads undici on
 *   `import 'node:http'`; `require` does not. Measured: the payment bundle's
 *   import went from 1.93x to 1.59x a bare client-dynamodb import. Nothing of
 *   ours needs ESM (no top-level await, no `import.meta`), and the `createRequire`
 *   banner that an ESM bundle of kafkajs needs goes with it.
 * - No source map: the map was 1.9-4.2 MB of the zip, and `--enable-source-maps`
 *   costs at init (measured: 2.35x against 2.00x the bare import, CPU time) and on
 *   every stack trace.
 *   `npm run bundle-sizes` writes the maps beside the bundles it builds
 *   (`.bundles/`), to decode a production stack trace.
 * - `module` before `main`: the ESM builds of dependencies tree-shake.
 *
 * @example
 * ```ts
 * new NodejsFunction(this, 'Fn', { entry, bundling: FUNCTION_BUNDLING });
 * ```
 */
export const FUNCTION_BUNDLING = {
  format: OutputFormat.CJS,
  target: 'node24',
  mainFields: ['module', 'main'],
  minify: true,
  sourceMap: false,
  externalModules: [...LAZY_EXTERNALS],
} satisfies BundlingOptions;
