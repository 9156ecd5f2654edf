import { readFileSync } from 'node:fs';

// Read at run time so dist/ and src/ report the same version as package.json.
function readVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'drawbridge' && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return '0.0.0-unknown';
}

export const VERSION = readVersion();
