#!/usr/bin/env node
// Thin launcher so `npx drawbridge` works from a checkout after `npm run build`.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(main)) {
  process.stderr.write('drawbridge: not built yet; run `npm run build` first\n');
  process.exit(2);
}
await import(main);
