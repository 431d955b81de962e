/**
 * The HTTP API (API Gateway HTTP API, payload format 2.0): the order routes
 * (docs/domain.md section 4) and the operators' dead-letter routes (section 7). The
 * route lists below are the one place routes are written: the functions' routers
 * match them and the local runtime reads them back from the synthesized template.
 */
import { aws_logs as logs } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  HttpStage,
  type IHttpRouteAuthorizer,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import {
  HttpIamAuthorizer,
  HttpJwtAuthorizer,
} from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

/** A route key as API Gateway writes it: `<METHOD> <path>`. */
export type RouteKey = `${'GET' | 'POST'} /${string}`;

/** The order routes, served by `functions/order-api.ts`. */
export const ORDER_ROUTES = [
  'POST /orders',
  'GET /orders/{orderId}',
  'GET /orders/{orderId}/events',
  'POST /orders/{orderId}/cancel',
  'GET /health',
  'GET /health/live',
  'GET /health/ready',
] as const satisfies readonly RouteKey[];

/**
 * The operators' routes, served by the `adminHandler` of
 * `functions/dlq-reprocessor.ts`; always IAM-authorized (docs/domain.md section 7).
 */
export const ADMIN_ROUTES = [
  'GET /dead-letters',
  'GET /dead-letters/{id}',
  'POST /dead-letters/{id}/redrive',
  'POST /dead-letters/redrive',
  'POST /dead-letters/{id}/discard',
] as const satisfies readonly RouteKey[];

/**
 * The order routes that stay open whatever the JWT settings: probes call them
 * (liveness, readiness, and `GET /health`, readiness under its old name).
 */
export const PUBLIC_ROUTES: ReadonlySet<RouteKey> = new Set([
  'GET /health',
  'GET /health/live',
  'GET /health/ready',
]);

export interface OrdersHttpApiProps {
  /** The function behind every order route. */
  readonly orderApi: lambda.IFunction;
  /** The function behind every admin (dead-letter) route. */
  readonly admin: lambda.IFunction;
  /** JWT issuer and audience for the order routes; open when absent. */
  readonly jwt?: { readonly issuer: string; readonly audience: string[] };
  /** Default-stage throttling: steady requests per second and burst size. */
  readonly throttle: { readonly rate: number; readonly burst: number };
  /** Retention of the access-log group, in days (a CloudWatch Logs value). */
  readonly logRetentionDays: number;
}

/**
 * The HTTP API: every order route to the order function (behind a JWT authorizer
 * when configured, the health routes always open), every admin route to the
 * dead-letter reprocessor behind IAM, a throttled `$default` stage with JSON
 * access logs. No `$default` route and no CORS: only the listed routes exist.
 *
 * @example
 * ```ts
 * const http = new OrdersHttpApi(this, 'Api', {
 *   orderApi: orderApiFunction,
 *   admin: reprocessorAdminFunction,
 *   jwt: config.api.jwt,
 *   throttle: { rate: config.api.throttleRate, burst: config.api.throttleBurst },
 *   logRetentionDays: config.functions.logRetentionDays,
 * });
 * new CfnOutput(this, 'ApiUrl', { value: http.url });
 * ```
 */
export class OrdersHttpApi extends Construct {
  readonly api: HttpApi;
  /** The invoke URL of the `$default` stage (no stage segment in the path). */
  readonly url: string;
  /** Where the stage writes its access logs. */
  readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: OrdersHttpApiProps) {
    super(scope, id);

    this.api = new HttpApi(this, 'HttpApi', {
      description: 'Orders API and the operators’ dead-letter routes',
      // The stage is created below so it can carry throttling and access logs.
      createDefaultStage: false,
    });

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: retentionDays(props.logRetentionDays),
    });
    const stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: {
        rateLimit: props.throttle.rate,
        burstLimit: props.throttle.burst,
      },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: ACCESS_LOG_FORMAT,
      },
    });
    this.url = stage.url;

    // One integration per function, shared by its routes: one Lambda permission
    // each. HttpLambdaIntegration defaults to payload format 2.0.
    const orderIntegration = new HttpLambdaIntegration(
      'OrderApi',
      props.orderApi,
    );
    const adminIntegration = new HttpLambdaIntegration('Admin', props.admin);

    const jwt = props.jwt
      ? new HttpJwtAuthorizer('OrdersJwt', props.jwt.issuer, {
          jwtAudience: props.jwt.audience,
        })
      : undefined;
    const open = new HttpNoneAuthorizer();
    for (const routeKey of ORDER_ROUTES) {
      const authorizer = PUBLIC_ROUTES.has(routeKey) ? open : (jwt ?? open);
      this.addRoute(routeKey, orderIntegration, authorizer);
    }

    // Admin routes are never public: SigV4-signed requests from principals
    // allowed execute-api:Invoke only.
    // https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control-iam.html
    const iam = new HttpIamAuthorizer();
    for (const routeKey of ADMIN_ROUTES) {
      this.addRoute(routeKey, adminIntegration, iam);
    }
  }

  private addRoute(
    routeKey: RouteKey,
    integration: HttpLambdaIntegration,
    authorizer: IHttpRouteAuthorizer,
  ): void {
    const [method, path] = parseRouteKey(routeKey);
    this.api.addRoutes({
      path,
      methods: [method],
      integration,
      authorizer,
    });
  }
}

/**
 * One JSON object per request, with the fields needed to trace a failure back to
 * the function's logs (`requestId` is also the Lambda event's requestContext id).
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html
 */
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    requestTime: '$context.requestTime',
    routeKey: '$context.routeKey',
    path: '$context.path',
    status: '$context.status',
    protocol: '$context.protocol',
    sourceIp: '$context.identity.sourceIp',
    userAgent: '$context.identity.userAgent',
    responseLength: '$context.responseLength',
    latency: '$context.responseLatency',
    integrationLatency: '$context.integrationLatency',
    integrationStatus: '$context.integrationStatus',
    integrationError: '$context.integrationErrorMessage',
    authorizerError: '$context.authorizer.error',
    errorMessage: '$context.error.message',
  }),
);

function parseRouteKey(routeKey: RouteKey): [HttpMethod, string] {
  const [method, path] = routeKey.split(' ');
  if (!path || (method !== 'GET' && method !== 'POST')) {
    throw new Error(`invalid route key: ${routeKey}`);
  }
  return [method === 'GET' ? HttpMethod.GET : HttpMethod.POST, path];
}

/** CloudWatch Logs accepts only some retention values; fail at synth otherwise. */
function retentionDays(days: number): logs.RetentionDays {
  const allowed = Object.values(logs.RetentionDays).filter(
    (value): value is logs.RetentionDays => typeof value === 'number',
  );
  const match = allowed.find((value) => value === days);
  if (match === undefined) {
    throw new Error(
      `log retention of ${days} days is not a CloudWatch Logs value (${allowed.join(', ')})`,
    );
  }
  return match;
}
