import { Stack } from 'aws-cdk-lib';
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import {
  ADMIN_ROUTES,
  ORDER_ROUTES,
  OrdersHttpApi,
  type OrdersHttpApiProps,
  PUBLIC_ROUTES,
} from '../../infra/http-api.ts';

const JWT = {
  issuer: 'https://issuer.example.com/',
  audience: ['orders-api'],
};

function synth(overrides: Partial<OrdersHttpApiProps> = {}): Template {
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
    throttle: { rate: 50, burst: 100 },
    logRetentionDays: 7,
    ...overrides,
  });
  return Template.fromStack(stack);
}

function authorizationTypes(template: Template): Map<string, string> {
  const routes = template.findResources('AWS::ApiGatewayV2::Route');
  return new Map(
    Object.values(routes).map((route) => [
      route.Properties.RouteKey as string,
      route.Properties.AuthorizationType as string,
    ]),
  );
}

describe('OrdersHttpApi', () => {
  it('creates exactly the order and admin routes, and no $default route', () => {
    // Act
    const template = synth();

    // Assess
    const routeKeys = [...authorizationTypes(template).keys()].sort();
    expect(routeKeys).toEqual([...ORDER_ROUTES, ...ADMIN_ROUTES].sort());
    expect(routeKeys).not.toContain('$default');
  });

  it('leaves every order route open when no JWT is configured', () => {
    // Act
    const types = authorizationTypes(synth());

    // Assess
    for (const route of ORDER_ROUTES) {
      expect(types.get(route), route).toBe('NONE');
    }
    expect(
      Object.keys(
        synth().findResources('AWS::ApiGatewayV2::Authorizer', {
          Properties: { AuthorizerType: 'JWT' },
        }),
      ),
    ).toHaveLength(0);
  });

  it('puts the order routes behind the JWT authorizer, except the health routes', () => {
    // Act
    const template = synth({ jwt: JWT });
    const types = authorizationTypes(template);

    // Assess
    for (const route of ORDER_ROUTES) {
      expect(types.get(route), route).toBe(
        PUBLIC_ROUTES.has(route) ? 'NONE' : 'JWT',
      );
    }
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: JWT.issuer, Audience: JWT.audience },
    });
  });

  it.each([
    ['without JWT', {}],
    ['with JWT', { jwt: JWT }],
  ])('requires IAM on every admin route (%s)', (_label, overrides) => {
    // Act
    const types = authorizationTypes(synth(overrides));

    // Assess
    for (const route of ADMIN_ROUTES) {
      expect(types.get(route), route).toBe('AWS_IAM');
    }
  });

  it('sends order routes to the order function and admin routes to the admin function', () => {
    // Prepare
    const template = synth();
    const integrations = template.findResources(
      'AWS::ApiGatewayV2::Integration',
    );
    const targetOf = new Map(
      Object.entries(integrations).map(([id, resource]) => [
        id,
        JSON.stringify(resource.Properties.IntegrationUri),
      ]),
    );
    const routes = Object.values(
      template.findResources('AWS::ApiGatewayV2::Route'),
    );

    // Act
    const functionOf = (routeKey: string): string => {
      const route = routes.find((r) => r.Properties.RouteKey === routeKey);
      const target = route?.Properties.Target['Fn::Join'][1][1].Ref as string;
      return targetOf.get(target) ?? '';
    };

    // Assess
    expect(Object.keys(integrations)).toHaveLength(2);
    for (const route of ORDER_ROUTES) {
      expect(functionOf(route), route).toContain('OrderApi');
    }
    for (const route of ADMIN_ROUTES) {
      expect(functionOf(route), route).toContain('Admin');
    }
    template.allResourcesProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
    });
  });

  it('throttles the auto-deployed $default stage', () => {
    // Act
    const template = synth({ throttle: { rate: 12.5, burst: 25 } });

    // Assess
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: {
        ThrottlingRateLimit: 12.5,
        ThrottlingBurstLimit: 25,
      },
    });
  });

  it('writes JSON access logs to a log group with the configured retention', () => {
    // Prepare
    const format = new Capture();

    // Act
    const template = synth({ logRetentionDays: 30 });

    // Assess
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: 30,
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      AccessLogSettings: {
        DestinationArn: {
          'Fn::GetAtt': [Match.stringLikeRegexp('^ApiAccessLogs'), 'Arn'],
        },
        Format: format,
      },
    });
    const fields = JSON.parse(format.asString()) as Record<string, string>;
    expect(fields).toMatchObject({
      requestId: '$context.requestId',
      routeKey: '$context.routeKey',
      status: '$context.status',
      integrationError: '$context.integrationErrorMessage',
      latency: '$context.responseLatency',
    });
  });

  it('refuses a retention CloudWatch Logs does not offer', () => {
    expect(() => synth({ logRetentionDays: 8 })).toThrow(/not a CloudWatch/);
  });

  it('has no CORS configuration', () => {
    // Act
    const template = synth();

    // Assess
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: Match.absent(),
    });
  });
});
