/**
 * The console page's files, served as they are from one flat folder
 * (local/console/page/), with the admin token put into index.html.
 */
import { readdir, readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { escapeHtml } from '../runtime/api-reference.ts';
import { json } from './http-answers.ts';

/** Where helper files of the page live: one flat folder. */
export const PAGE_DIR = join(import.meta.dirname, 'page');

/** The literal in index.html the admin token replaces. */
const TOKEN_PLACEHOLDER = '%ADMIN_TOKEN%';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Answers one file of the page folder by its name, or 404.
 *
 * @example
 * ```ts
 * await servePageFile(response, { pageDir: PAGE_DIR, adminToken }, 'index.html');
 * ```
 */
export async function servePageFile(
  response: ServerResponse,
  { pageDir, adminToken }: { readonly pageDir: string; adminToken: string },
  file: string,
): Promise<void> {
  const files = await readdir(pageDir, { withFileTypes: true }).catch(() => []);
  // Only a file that is in the folder under exactly that name: no path, no
  // traversal, nothing else on the disk.
  if (!files.some((entry) => entry.isFile() && entry.name === file)) {
    return json(response, 404, {
      message: 'Not Found',
      ...(file === 'index.html'
        ? { local: 'local/console/page/index.html is missing' }
        : {}),
    });
  }
  let body = await readFile(join(pageDir, file));
  if (file === 'index.html') {
    body = Buffer.from(
      body
        .toString('utf8')
        .replaceAll(TOKEN_PLACEHOLDER, escapeHtml(adminToken)),
      'utf8',
    );
  }
  response.writeHead(200, {
    'content-type':
      CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'content-length': body.length,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
  });
  response.end(body);
}
