import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { deterministicUuid } from '#domain/ids.ts';

describe('deterministicUuid', () => {
  it('is a valid UUID, the same for the same parts and different otherwise', () => {
    // Act
    const a = deterministicUuid('ShippingRequested', 'e1');
    const again = deterministicUuid('ShippingRequested', 'e1');
    const other = deterministicUuid('ShippingRequested', 'e2');
    const joined = deterministicUuid('ShippingRequestede1');

    // Assess
    expect(z.uuid().safeParse(a).success).toBe(true);
    expect(a[14]).toBe('5');
    expect(again).toBe(a);
    expect(other).not.toBe(a);
    expect(joined).not.toBe(a);
  });
});
