import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.ts';
import { OrdersHttpApi } from '../../infra/http-api.ts';
import { buildOpenApiDocument } from '../../infra/openapi.ts';
import { testApp } from './test-app.ts';

/** Each operation's security, by route key (`POST /orders`). */
function documentedRoutes(): Map<string, unknown> {
  const routes = new Map<string, unknown>();
  for (const [path, item] of Object.entries(buildOpenApiDocument().paths)) {
    for (const [method, operation] of Object.entries(item)) {
      routes.set(`${method.toUpperCase()} ${path}`, operation?.security);
    }
  }
  return routes;
}

describe('the OpenAPI document against the synthesized template', () => {
  let declared: string[];

  beforeAll(() => {
    const { stack } = buildApp(testApp({ stage: 'dev' }));
    const routes = Template.fromStack(stack).findResources(
      'AWS::ApiGatewayV2::Route',
    );
    declared = Object.values(routes).map(
      (route) => route.Properties.RouteKey as string,
    );
  });

  it('documents every route the template declares, and no other', () => {
    // Act
    const documented = [...documentedRoutes().keys()].sort();

    // Assess
    expect(declared.length).toBeGreaterThan(0);
    expect(documented).toEqual(declared.sort());
  });

  it('describes each route’s authorization as a template with JWT sets it', () => {
    // Prepare: the HTTP API of a stage that configures JWT for the order routes.
    const stack = new Stack();
    const fn = (id: string) =>
      new lambda.Function(stack, id, {
        runtime: lambda.Runtime.NODEJS_24_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async () => ({});'),
      });
    new OrdersHttpApi(stack, 'Api', {
      orderApi: fn('OrderApi'),
      admin: fn('Admin'),
      jwt: { issuer: 'https://issuer.example.com/', audience: ['orders'] },
      throttle: { rate: 50, burst: 100 },
      logRetentionDays: 7,
    });
    const routes = Template.fromStack(stack).findResources(
      'AWS::ApiGatewayV2::Route',
    );

    // Act
    const security = documentedRoutes();

    // Assess: IAM is SigV4; JWT is optional (it depends on the stage); NONE is open.
    const expected: Record<string, unknown> = {
      AWS_IAM: [{ awsSigv4: [] }],
      JWT: [{}, { ordersJwt: [] }],
      NONE: [],
    };
    expect(Object.keys(routes)).toHaveLength(security.size);
    for (const route of Object.values(routes)) {
      const { RouteKey, AuthorizationType } = route.Properties;
      expect(
        security.get(RouteKey),
        `${RouteKey} (${AuthorizationType})`,
      ).toEqual(expected[AuthorizationType]);
    }
  });
});
