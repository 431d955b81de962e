import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type CfnElement } from 'aws-cdk-lib';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '#infra/app.ts';
import { OrdersFunction } from '#infra/orders-function.ts';
import { type CfnTemplate, readSystem } from '../../local/runtime/template.ts';

/** One of our function assets, as `cdk deploy` would zip it. */
interface Asset {
  readonly logicalId: string;
  readonly handler: string;
  readonly dir: string;
  readonly files: string[];
  readonly code: string;
  /** What the function gets at import, as the local runtime resolves it. */
  readonly environment: Record<string, string>;
}

// The one suite that runs esbuild: the whole app, every function bundled once
// (6 bundles: 5-10 s quiet on 2 cores, 30 s or more beside busy processes).
const SYNTH_TIMEOUT_MS = 300_000;

describe('the deployed function bundles', () => {
  let assets: Asset[];

  beforeAll(() => {
    // Prepare: the real app, bundled; the cloud assembly goes to the test's TMPDIR.
    const { app, stack } = buildApp(
      new App({
        context: { stage: 'dev', 'aws:cdk:enable-asset-metadata': true },
      }),
    );
    const assembly = app.synth();
    const template = assembly.getStackByName(stack.stackName)
      .template as CfnTemplate;
    const system = readSystem(template, {
      brokers: ['127.0.0.1:9092'],
      dynamodbEndpoint: 'http://127.0.0.1:8000',
    });
    assets = stack.node
      .findAll()
      .filter((construct) => construct instanceof NodejsFunction)
      .map((fn) => {
        const logicalId = stack.getLogicalId(
          fn.node.defaultChild as CfnElement,
        );
        const resource = template.Resources[logicalId];
        const dir = join(
          assembly.directory,
          resource?.Metadata?.['aws:asset:path'] as string,
        );
        const files = readdirSync(dir).sort();
        const local = system.functions.find((f) => f.logicalId === logicalId);
        return {
          logicalId,
          handler: String(resource?.Properties?.Handler).replace(
            /^index\./,
            '',
          ),
          dir,
          files,
          code: files.includes('index.js')
            ? readFileSync(join(dir, 'index.js'), 'utf8')
            : '',
          environment: {
            AWS_REGION: 'us-east-1',
            AWS_ACCESS_KEY_ID: 'local',
            AWS_SECRET_ACCESS_KEY: 'local',
            // The topic provisioner is not a system function: its own variables.
            ...(local?.environment ?? {
              KAFKA_BROKERS: '127.0.0.1:9092',
              KAFKA_AUTH: 'iam',
            }),
          },
        };
      });
    // order-api, outbox-relay, order-events, payment, dlq-reprocessor, -redrive,
    // -admin, topic provisioner.
    expect(assets).toHaveLength(8);
    expect(
      stack.node.findAll().filter((c) => c instanceof OrdersFunction),
    ).toHaveLength(7);
  }, SYNTH_TIMEOUT_MS);

  it('ship one CommonJS file each, and no source map', () => {
    for (const asset of assets) {
      expect(asset.files, asset.logicalId).toEqual(['index.js']);
      expect(asset.code.startsWith('"use strict";'), asset.logicalId).toBe(
        true,
      );
      expect(asset.code, asset.logicalId).not.toContain('sourceMappingURL');
    }
  });

  it('leave out the DynamoDB Streams client, a dev dependency', () => {
    // A bundle of the client holds both strings (checked with esbuild by hand: its
    // serviceId and its package name).
    for (const asset of assets) {
      expect(asset.code, asset.logicalId).not.toContain('"DynamoDB Streams"');
      expect(asset.code, asset.logicalId).not.toContain(
        'client-dynamodb-streams',
      );
    }
  });

  it('load in a fresh Node.js process with the function environment and export the handler', () => {
    for (const asset of assets) {
      // Act: outside the repository (no "type": "module" above the asset), as in
      // Lambda's /var/task.
      const exported = execFileSync(
        process.execPath,
        [
          '-e',
          `const m = require(${JSON.stringify(join(asset.dir, 'index.js'))}); console.log(typeof m[${JSON.stringify(asset.handler)}]); process.exit(0);`,
        ],
        {
          cwd: asset.dir,
          env: { PATH: process.env.PATH ?? '', ...asset.environment },
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );

      // Assess
      expect(exported.trim().split('\n').at(-1), asset.logicalId).toBe(
        'function',
      );
    }
  });
});
