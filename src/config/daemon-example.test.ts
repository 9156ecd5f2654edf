import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadDaemonConfig, parseDaemonConfig } from './daemon-config.js';
import { DAEMON_KEYS } from './daemon-keys.js';
import { formatDiagnostic } from './layout-diagnostics.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLE = `${root}config/drawbridge.example.yaml`;

/** What the README's demo exports before it starts Drawbridge with the example. */
const DEMO_ENV = {
  DRAWBRIDGE_HOME: `${root}.drawbridge`,
  DRAWBRIDGE_BASTION_HOST_KEY: 'SHA256:gSfdZTGiKdMlxzFx7VEBIagOjams99fgrcNRtNp3gVs',
  USER: 'demo',
};

describe('config/drawbridge.example.yaml', () => {
  it('loads without errors or warnings with the demo environment', async () => {
    const r = await loadDaemonConfig(EXAMPLE, { env: DEMO_ENV });
    expect([...r.errors, ...r.warnings].map(formatDiagnostic)).toEqual([]);
    const c = r.config!;
    expect(c.zookeeper.connectString).toBe('127.0.0.1:2181');
    expect(c.bastion).toMatchObject({ host: '127.0.0.1', port: 2222, user: 'demo' });
    expect(c.bastion.workspaceRoot).toBe(`${root}.drawbridge/bastion/workspaces`);
    expect(c.repository.url).toBe(`${root}.drawbridge/demo/repo`);
    // Local paths are under .drawbridge/ at the top of the checkout.
    for (const p of [
      c.state.dir,
      c.executor.logRoot,
      c.bastion.privateKey,
      c.repository.localPath,
    ]) {
      expect(p.startsWith(`${root}.drawbridge/`)).toBe(true);
    }
    expect(c.layout).toMatchObject({ fromRepository: true, paths: ['zuul.d'] });
  });

  it('needs exactly the variables its header lists', async () => {
    const r = await loadDaemonConfig(EXAMPLE, { env: {} });
    const missing = r.errors.map((d) => /variable (\w+) is not set/.exec(d.message)?.[1]);
    expect(new Set(missing)).toEqual(new Set(['DRAWBRIDGE_HOME', 'DRAWBRIDGE_BASTION_HOST_KEY']));
    const header = readFileSync(EXAMPLE, 'utf8').split('\n\n')[0]!;
    for (const name of missing) expect(header).toContain(name);
  });
});

describe('docs/daemon-config.md', () => {
  const doc = readFileSync(`${root}docs/daemon-config.md`, 'utf8');

  it('documents every key by its full dotted name', () => {
    const keys = Object.entries(DAEMON_KEYS).flatMap(([section, names]) =>
      names.map((k) => (section === '' ? k : `${section}.${k}`)),
    );
    const undocumented = keys.filter((k) => !doc.includes(`\`${k}\``));
    expect(undocumented).toEqual([]);
  });

  it('its minimal file loads', () => {
    const block = /## Minimal file\s+```yaml\n([^]*?)```/.exec(doc)?.[1];
    expect(block).toBeDefined();
    const r = parseDaemonConfig({ file: '/etc/drawbridge/drawbridge.yaml', text: block! });
    expect([...r.errors, ...r.warnings].map(formatDiagnostic)).toEqual([]);
  });
});
