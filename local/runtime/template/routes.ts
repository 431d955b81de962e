/**
 * Reading the HTTP API's routes (`AWS::ApiGatewayV2::Route`): route key, the
 * function behind its integration, and its authorization.
 */
import { isRecord } from '#commons/guards.ts';
import {
  InvalidTemplateError,
  UnresolvableReferenceError,
  UnsupportedTemplateError,
} from './errors.ts';
import type { CfnTemplate, LocalRoute } from './model.ts';
import { functionOf } from './references.ts';

/** Every route, with the function its integration invokes and its authorization. */
export function readRoutes(
  resources: CfnTemplate['Resources'],
  names: ReadonlyMap<string, string>,
): LocalRoute[] {
  return Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::ApiGatewayV2::Route')
    .map(([logicalId, resource]) => {
      const props = resource.Properties ?? {};
      const where = `route ${logicalId}`;
      if (typeof props.RouteKey !== 'string') {
        throw new InvalidTemplateError(`${where}: no RouteKey`);
      }
      const integrationId = integrationOf(props.Target, where);
      const integration = resources[integrationId];
      if (integration?.Type !== 'AWS::ApiGatewayV2::Integration') {
        throw new InvalidTemplateError(
          `${where}: target ${integrationId} is not an integration`,
        );
      }
      const integrationProps = integration.Properties ?? {};
      const authorizationType = props.AuthorizationType ?? 'NONE';
      if (
        authorizationType !== 'NONE' &&
        authorizationType !== 'JWT' &&
        authorizationType !== 'AWS_IAM'
      ) {
        throw new UnsupportedTemplateError(
          `${where}: authorization ${JSON.stringify(authorizationType)}`,
        );
      }
      const jwt =
        authorizationType === 'JWT'
          ? jwtOf(resources, props.AuthorizerId, where)
          : undefined;
      const route: LocalRoute = {
        routeKey: props.RouteKey,
        functionLogicalId: functionOf(
          integrationProps.IntegrationUri,
          names,
          `${where} (integration ${integrationId})`,
        ),
        authorizationType,
        payloadFormatVersion: String(
          integrationProps.PayloadFormatVersion ?? '1.0',
        ),
        ...(jwt ? { jwt } : {}),
      };
      return route;
    });
}

/** `integrations/<id>`, written as a string or as `Fn::Join` with a `Ref`. */
function integrationOf(target: unknown, where: string): string {
  if (typeof target === 'string' && target.startsWith('integrations/')) {
    return target.slice('integrations/'.length);
  }
  const join = isRecord(target) ? target['Fn::Join'] : undefined;
  if (Array.isArray(join) && Array.isArray(join[1])) {
    const [prefix, ref] = join[1] as unknown[];
    if (
      prefix === 'integrations/' &&
      isRecord(ref) &&
      typeof ref.Ref === 'string'
    ) {
      return ref.Ref;
    }
  }
  throw new InvalidTemplateError(
    `${where}: target ${JSON.stringify(target)} is not integrations/<integration>`,
  );
}

function jwtOf(
  resources: CfnTemplate['Resources'],
  authorizerId: unknown,
  where: string,
): LocalRoute['jwt'] {
  const id = isRecord(authorizerId) ? authorizerId.Ref : undefined;
  const authorizer = typeof id === 'string' ? resources[id] : undefined;
  const config = authorizer?.Properties?.JwtConfiguration;
  if (
    !isRecord(config) ||
    typeof config.Issuer !== 'string' ||
    !Array.isArray(config.Audience)
  ) {
    throw new UnresolvableReferenceError(
      `${where}: JWT authorizer ${JSON.stringify(authorizerId)} has no literal issuer and audience`,
    );
  }
  return { issuer: config.Issuer, audience: config.Audience.map(String) };
}
