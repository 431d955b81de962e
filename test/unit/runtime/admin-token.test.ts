/**
 * The admin token `npm run dev` takes from LOCAL_ADMIN_TOKEN or --admin-token
 * (local/runtime/admin-token.ts).
 */
import { describe, expect, it } from 'vitest';
import { describeError, PlatformError } from '#platform/errors.ts';
import {
  MIN_ADMIN_TOKEN_LENGTH,
  parseAdminToken,
  randomAdminToken,
} from '../../../local/runtime/admin-token.ts';

describe('parseAdminToken', () => {
  it('takes 16 or more printable characters as they are', () => {
    // Prepare
    const tokens = [
      '0123456789abcdef',
      'local-admin-token-!#$%&*+/=?^_~',
      'x'.repeat(200),
    ];

    // Act
    const parsed = tokens.map((t) => parseAdminToken(t, 'LOCAL_ADMIN_TOKEN'));

    // Assess
    expect(parsed).toEqual(tokens);
  });

  it.each([
    ['empty', '', /^LOCAL_ADMIN_TOKEN is empty\. Fix: /],
    [
      'too short',
      'x'.repeat(15),
      /^LOCAL_ADMIN_TOKEN is 15 characters long, under the 16/,
    ],
    [
      'with a space',
      'local admin token 1',
      /holds a space, a control or a non-ASCII/,
    ],
    [
      'with a tab',
      'local\tadmin-token-1',
      /holds a space, a control or a non-ASCII/,
    ],
    ['with a newline', 'local-admin-token-1\n', /holds a space/],
    ['not ASCII', 'lokaler-schlüssel-1', /non-ASCII/],
  ])(
    'refuses a token %s in one line naming the setting and the fix',
    (_what, raw, message) => {
      // Act
      const error = (() => {
        try {
          parseAdminToken(raw, 'LOCAL_ADMIN_TOKEN');
        } catch (caught) {
          return caught;
        }
      })();

      // Assess: one line, never the token itself.
      expect(error).toBeInstanceOf(PlatformError);
      const line = describeError(error);
      expect(line).toMatch(message);
      expect(line).toMatch(
        /Fix: set LOCAL_ADMIN_TOKEN to at least 16 printable/,
      );
      expect(line).not.toContain('\n');
      if (raw.length > 0) expect(line).not.toContain(raw.trim());
    },
  );
});

describe('randomAdminToken', () => {
  it('draws a valid token, a new one each time', () => {
    // Act
    const [first, second] = [randomAdminToken(), randomAdminToken()];

    // Assess
    expect(parseAdminToken(first, 'drawn')).toBe(first);
    expect(first.length).toBeGreaterThanOrEqual(MIN_ADMIN_TOKEN_LENGTH);
    expect(second).not.toBe(first);
  });
});
