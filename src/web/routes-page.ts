/**
 * The status page: `/` and its two assets under `/ui/`. The files live in
 * web-ui/ at the package root and are read once at start-up, so a missing
 * file fails the process early instead of answering 500 later. The page
 * loads nothing from elsewhere; the content security policy enforces it.
 */
import { readFileSync } from 'node:fs';
import type { WebApp } from './app.js';

interface Asset {
  readonly body: Buffer;
  readonly type: string;
}

// The page sets inline style attributes (progress bars), nothing else inline.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/ui/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/ui/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

/** Reads the page's files; `dir` defaults to web-ui/ beside src/ (or dist/). */
export function loadPageAssets(
  dir = new URL('../../web-ui/', import.meta.url),
): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const [route, { file, type }] of Object.entries(FILES))
    assets.set(route, { body: readFileSync(new URL(file, dir)), type });
  return assets;
}

export function pageRoutes(app: WebApp, assets = loadPageAssets()): void {
  for (const [route, asset] of assets) {
    app.get(
      route,
      {
        // The page and its assets are public; the data it shows comes from the API.
        config: { access: 'public' },
        schema: {
          description: route === '/' ? 'The status page (HTML).' : 'An asset of the status page.',
          produces: [asset.type.split(';')[0] ?? 'text/plain'],
        },
      },
      (_request, reply) =>
        reply
          .header('content-type', asset.type)
          .header('cache-control', 'no-cache')
          .header('content-security-policy', CSP)
          .header('x-content-type-options', 'nosniff')
          .send(asset.body),
    );
  }
}
