'use strict';
/**
 * Stops a command early, with one line, under a Node.js older than `engines.node` in
 * package.json asks for. npm scripts run it before Node.js is handed a `.ts` file: an
 * older Node.js would otherwise fail with ERR_UNKNOWN_FILE_EXTENSION and a stack trace.
 * CommonJS, and no syntax newer than Node.js 8, so that it runs on whatever Node.js a
 * newcomer has.
 *
 *   node scripts/require-node.cjs && node local/dev.ts
 */
const { engines } = require('../package.json');

/** `[major, minor, patch]` of '22.18.0' or 'v22.18.0'. */
function parseVersion(text) {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(text.trim());
  if (!match) throw new Error(`not a version: ${text}`);
  return match.slice(1).map(Number);
}

/**
 * What is wrong with Node.js `found` for the range `wanted` (only the `>=X.Y.Z` form
 * that package.json uses), or undefined when it will do.
 *
 * @example
 * nodeVersionProblem('20.20.2', '>=22.18.0');
 * // 'Node.js 22.18.0 or newer is needed; this is Node.js 20.20.2. Fix: ...'
 */
function nodeVersionProblem(found, wanted) {
  const range = /^>=\s*(\S+)$/.exec(wanted.trim());
  if (!range)
    throw new Error(`engines.node must read '>=X.Y.Z', not '${wanted}'`);
  const needed = parseVersion(range[1]);
  const have = parseVersion(found);
  for (let i = 0; i < 3; i += 1) {
    if (have[i] > needed[i]) return undefined;
    if (have[i] < needed[i]) {
      return (
        `Node.js ${needed.join('.')} or newer is needed; this is Node.js ${have.join('.')}. ` +
        'Fix: install Node.js 24 LTS (for example: nvm install 24), then run npm ci again'
      );
    }
  }
  return undefined;
}

module.exports = { nodeVersionProblem };

if (require.main === module) {
  const problem = nodeVersionProblem(process.versions.node, engines.node);
  if (problem) {
    process.stderr.write(`error: ${problem}\n`);
    process.exit(1);
  }
}
