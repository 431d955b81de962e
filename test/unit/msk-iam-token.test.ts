import { generateAuthTokenFromCredentialsProvider } from 'aws-msk-iam-sasl-signer-js';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type AwsCredentials,
  credentialsFromEnv,
  generateMskAuthToken,
  MissingCredentialsError,
} from '#commons/msk-iam-token.ts';

/** The library's own user agent, so that both URLs carry the same one. */
const LIBRARY_USER_AGENT = 'aws-msk-iam-sasl-signer-js/1.0.3';

/** What aws-msk-iam-sasl-signer-js signs for the same credentials, region and time. */
async function libraryToken(
  region: string,
  credentials: AwsCredentials,
  now: Date,
) {
  vi.useFakeTimers({ now, toFake: ['Date'] });
  try {
    return await generateAuthTokenFromCredentialsProvider({
      region,
      awsCredentialsProvider: async () => credentials,
    });
  } finally {
    vi.useRealTimers();
  }
}

const decode = (token: string) =>
  new URL(Buffer.from(token, 'base64url').toString('utf8'));

describe('generateMskAuthToken', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('signs the token aws-msk-iam-sasl-signer-js signs, byte for byte', async () => {
    // Prepare
    const now = new Date('2026-12-06T04:05:06.789Z');
    const credentials = {
      accessKeyId: 'ASIAEXAMPLEKEY123456',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      sessionToken: 'IQoJb3JpZ2luX2VjE+/=session',
    };

    // Act
    const ours = await generateMskAuthToken({
      region: 'eu-central-1',
      credentials: () => credentials,
      now,
      userAgent: LIBRARY_USER_AGENT,
    });
    const theirs = await libraryToken('eu-central-1', credentials, now);

    // Assess
    expect(ours).toEqual(theirs);
    const url = decode(ours.token);
    expect(url.host).toBe('kafka.eu-central-1.amazonaws.com');
    expect(url.searchParams.get('Action')).toBe('kafka-cluster:Connect');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
    expect(url.searchParams.get('X-Amz-Security-Token')).toBe(
      credentials.sessionToken,
    );
    expect(ours.expiryTime).toBe(Date.parse('2026-12-06T04:20:06Z'));
  });

  it('agrees with the library for any credentials, region and time', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          accessKeyId: fc.stringMatching(/^[A-Z0-9]{16,20}$/),
          secretAccessKey: fc.string({ minLength: 1, maxLength: 40 }),
          sessionToken: fc.option(fc.string({ minLength: 1, maxLength: 60 }), {
            nil: undefined,
          }),
        }),
        fc.constantFrom('us-east-1', 'eu-west-1', 'ap-southeast-2'),
        fc.date({
          min: new Date('2020-01-01T00:00:00Z'),
          max: new Date('2040-01-01T00:00:00Z'),
          noInvalidDate: true,
        }),
        // Credentials that expire within the 15 minutes shorten the token.
        fc.option(fc.integer({ min: 1_000, max: 3_600_000 }), {
          nil: undefined,
        }),
        async (keys, region, now, expiresInMs) => {
          // Prepare
          const credentials: AwsCredentials = {
            accessKeyId: keys.accessKeyId,
            secretAccessKey: keys.secretAccessKey,
            ...(keys.sessionToken ? { sessionToken: keys.sessionToken } : {}),
            ...(expiresInMs === undefined
              ? {}
              : { expiration: new Date(now.getTime() + expiresInMs) }),
          };

          // Act
          const ours = await generateMskAuthToken({
            region,
            credentials: () => credentials,
            now,
            userAgent: LIBRARY_USER_AGENT,
          });
          const theirs = await libraryToken(region, credentials, now);

          // Assess
          expect(ours).toEqual(theirs);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('reads the credentials Lambda puts in the environment', () => {
    // Act
    const credentials = credentialsFromEnv({
      AWS_ACCESS_KEY_ID: 'AKID',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_SESSION_TOKEN: 'token',
    });

    // Assess
    expect(credentials).toEqual({
      accessKeyId: 'AKID',
      secretAccessKey: 'secret',
      sessionToken: 'token',
    });
  });

  it('refuses to sign without credentials, naming the variables', async () => {
    // Act + Assess
    expect(() => credentialsFromEnv({ AWS_ACCESS_KEY_ID: 'AKID' })).toThrow(
      MissingCredentialsError,
    );
    await expect(
      generateMskAuthToken({
        region: 'us-east-1',
        credentials: () => credentialsFromEnv({}),
      }),
    ).rejects.toThrow(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
  });
});
