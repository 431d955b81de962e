import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import packageJson from '../../package.json' with { type: 'json' };

const { nodeVersionProblem } = createRequire(import.meta.url)(
  '../../scripts/require-node.cjs',
) as {
  nodeVersionProblem(found: string, wanted: string): string | undefined;
};

describe('the Node.js version gate (scripts/require-node.cjs)', () => {
  it.each(['22.18.0', '22.19.1', '23.0.0', '24.21.0', 'v24.0.0'])(
    'lets Node.js %s through for >=22.18.0',
    (found) => {
      expect(nodeVersionProblem(found, '>=22.18.0')).toBeUndefined();
    },
  );

  it.each(['20.20.2', '22.17.9', '18.0.0', 'v8.17.0'])(
    'stops Node.js %s with one line naming both versions',
    (found) => {
      // Act
      const problem = nodeVersionProblem(found, '>=22.18.0');

      // Assess
      expect(problem).toBe(
        `Node.js 22.18.0 or newer is needed; this is Node.js ${found.replace('v', '')}. ` +
          'Fix: install Node.js 24 LTS (for example: nvm install 24), then run npm ci again',
      );
      expect(problem).not.toContain('\n');
    },
  );

  it('refuses an engines range it cannot read, rather than let anything through', () => {
    expect(() => nodeVersionProblem('24.0.0', '^22')).toThrow(
      /engines.node must read '>=X.Y.Z'/,
    );
  });

  it('reads the range package.json declares', () => {
    expect(() =>
      nodeVersionProblem('24.0.0', packageJson.engines.node),
    ).not.toThrow();
  });

  it('runs first in every npm script that hands Node.js a .ts file', () => {
    // Prepare
    const scripts = Object.entries(
      packageJson.scripts as Record<string, string>,
    );

    // Act: scripts that run TypeScript themselves (not through another npm script).
    const runningTs = scripts.filter(([, command]) =>
      /\bnode\b[^&]*\.ts\b|\bvitest\b/.test(command),
    );

    // Assess
    expect(runningTs.map(([name]) => name)).toEqual(
      expect.arrayContaining(['dev', 'platform', 'bench', 'test', 'test:unit']),
    );
    for (const [name, command] of runningTs) {
      expect([name, command.split(' && ')[0]]).toEqual([
        name,
        'node scripts/require-node.cjs',
      ]);
    }
  });
});
