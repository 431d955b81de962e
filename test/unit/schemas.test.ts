import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderSchemas } from '../../scripts/schemas.ts';

describe('schemas/ (JSON Schema exported from the zod contract)', () => {
  it('is current: run `npm run schemas` after changing functions/domain/events.ts', () => {
    // Prepare
    const expected = renderSchemas();

    // Act / Assess
    for (const [file, text] of Object.entries(expected)) {
      const committed = readFileSync(
        join(import.meta.dirname, '..', '..', 'schemas', file),
        'utf8',
      );
      expect(JSON.parse(committed), file).toEqual(JSON.parse(text));
    }
  });
});
