/* global process, console, fetch, setTimeout */
// Polls web's /api/components until enough components of each kind are
// running: `node wait-components.mjs PORT scheduler=2 executor=1`.
const [port, ...wants] = process.argv.slice(2);
const want = Object.fromEntries(wants.map((w) => w.split('=')).map(([k, n]) => [k, Number(n)]));
const deadline = Date.now() + 120_000;
let last = 'no answer';
for (;;) {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/api/components`);
    if (r.ok) {
      const body = await r.json();
      const list = Array.isArray(body) ? body : (body.components ?? []);
      const running = (kind) => list.filter((c) => c.kind === kind && c.state === 'running').length;
      last = Object.keys(want)
        .map((k) => `${running(k)} ${k}`)
        .join(', ');
      if (Object.entries(want).every(([k, n]) => running(k) >= n)) process.exit(0);
    }
  } catch (e) {
    last = `web not answering (${e.cause?.code ?? e.message})`;
  }
  if (Date.now() > deadline) {
    console.error(
      `demo: Drawbridge did not come up within 120 s (last seen: ${last}); see .drawbridge/local/run/`,
    );
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 250));
}
