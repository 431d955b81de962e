/**
 * The Amazon MSK IAM auth token that kafkajs sends as its SASL/OAUTHBEARER value: a
 * SigV4-presigned `kafka-cluster:Connect` URL for `kafka.<region>.amazonaws.com`,
 * base64url-encoded (https://github.com/aws/aws-msk-iam-sasl-signer-js, whose
 * `generateAuthToken` this reproduces byte for byte; a unit test compares the two).
 *
 * Why not that library in the bundle: it loads the STS client and every credential
 * provider of `@aws-sdk/credential-providers` (about 125 KB of each bundle) to read
 * credentials that Lambda already puts in the environment. Signing is local: no
 * network call, so the functions need no route to STS. Why this matters:
 * docs/performance.md section "Cold start".
 */
import { createHash, createHmac } from 'node:crypto';

/** AWS credentials, as Lambda gives the execution role's in the environment. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  /** When they expire; the token then expires no later. */
  readonly expiration?: Date;
}

/** The environment has no credentials: nothing to sign with. */
export class MissingCredentialsError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MissingCredentialsError';
  }
}

/** Options of {@link generateMskAuthToken}. */
export interface MskAuthTokenOptions {
  /** The cluster's region. */
  readonly region: string;
  /** Default: {@link credentialsFromEnv}. */
  readonly credentials?: () => AwsCredentials | Promise<AwsCredentials>;
  /** Signing time; default: now. */
  readonly now?: Date;
  /** Sent unsigned in the URL, for the broker's logs. */
  readonly userAgent?: string;
}

/** What the MSK signer library calls its lifetime: the broker's maximum. */
const TOKEN_TTL_SECONDS = 900;
const SERVICE = 'kafka-cluster';
const ALGORITHM = 'AWS4-HMAC-SHA256';
/** SHA-256 of the empty body: a GET signs no payload. */
const EMPTY_SHA256 =
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const DEFAULT_USER_AGENT = 'kafka-lambda-orders';

/**
 * The role's credentials from the variables Lambda sets
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime),
 * read on every call as the SDK's `fromEnv` does.
 *
 * @example
 * ```ts
 * const { accessKeyId } = credentialsFromEnv();
 * ```
 */
export function credentialsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): AwsCredentials {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new MissingCredentialsError(
      'MSK IAM auth needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (Lambda sets them from the execution role)',
    );
  }
  const expiry = env.AWS_CREDENTIAL_EXPIRATION;
  return {
    accessKeyId,
    secretAccessKey,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    ...(expiry ? { expiration: new Date(expiry) } : {}),
  };
}

/**
 * Signs an MSK IAM auth token for `region`, valid 15 minutes (less when the
 * credentials expire sooner).
 *
 * @example
 * ```ts
 * const { token } = await generateMskAuthToken({ region: 'eu-west-1' });
 * sasl: { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: token }) }
 * ```
 */
export async function generateMskAuthToken(
  options: MskAuthTokenOptions,
): Promise<{ token: string; expiryTime: number }> {
  const credentials = await (options.credentials ?? credentialsFromEnv)();
  const now = options.now ?? new Date();
  const { region } = options;
  const host = `kafka.${region}.amazonaws.com`;
  const longDate = now.toISOString().replace(/[-:]|\.\d{3}/g, '');
  const shortDate = longDate.slice(0, 8);
  const scope = `${shortDate}/${region}/${SERVICE}/aws4_request`;
  const ttl =
    credentials.expiration === undefined
      ? TOKEN_TTL_SECONDS
      : Math.min(
          (credentials.expiration.getTime() - now.getTime()) / 1000,
          TOKEN_TTL_SECONDS,
        );

  const query: Record<string, string> = {
    Action: `${SERVICE}:Connect`,
    ...(credentials.sessionToken
      ? { 'X-Amz-Security-Token': credentials.sessionToken }
      : {}),
    'X-Amz-Algorithm': ALGORITHM,
    'X-Amz-Credential': `${credentials.accessKeyId}/${scope}`,
    'X-Amz-Date': longDate,
    'X-Amz-Expires': ttl.toString(10),
    'X-Amz-SignedHeaders': 'host',
  };
  const canonicalRequest = [
    'GET',
    '/',
    queryString(query),
    `host:${host}`,
    '',
    'host',
    EMPTY_SHA256,
  ].join('\n');
  const stringToSign = [
    ALGORITHM,
    longDate,
    scope,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  let key: Buffer = createHmac('sha256', `AWS4${credentials.secretAccessKey}`)
    .update(shortDate)
    .digest();
  for (const part of [region, SERVICE, 'aws4_request']) {
    key = createHmac('sha256', key).update(part).digest();
  }
  const signature = createHmac('sha256', key)
    .update(stringToSign)
    .digest('hex');

  const url = `https://${host}/?${queryString({
    ...query,
    'X-Amz-Signature': signature,
    'User-Agent': options.userAgent ?? DEFAULT_USER_AGENT,
  })}`;
  return {
    token: Buffer.from(url, 'utf8').toString('base64url'),
    expiryTime:
      Date.UTC(
        Number(longDate.slice(0, 4)),
        Number(longDate.slice(4, 6)) - 1,
        Number(longDate.slice(6, 8)),
        Number(longDate.slice(9, 11)),
        Number(longDate.slice(11, 13)),
        Number(longDate.slice(13, 15)),
      ) +
      ttl * 1000,
  };
}

/** Keys sorted, keys and values URI-encoded as SigV4 asks (RFC 3986). */
function queryString(query: Readonly<Record<string, string>>): string {
  return Object.keys(query)
    .sort()
    .map((key) => `${uriEncode(key)}=${uriEncode(query[key] as string)}`)
    .join('&');
}

function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
