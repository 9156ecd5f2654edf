// Drawbridge status page. Plain browser JavaScript, no build step and no
// third-party code, so the page works on hosts without internet access.
// Every value from the API is written with textContent or setAttribute,
// never as HTML.

const REFRESH_MS = 2000;
const HISTORY_REFRESH_MS = 10000;
const SVG = 'http://www.w3.org/2000/svg';

const COLORS = {
  WAITING: '#9aa3af',
  QUEUED: '#c98a00',
  RETRY: '#c98a00',
  RUNNING: '#2f6fde',
  SUCCESS: '#1f9d55',
  SKIPPED: '#b8bec7',
  FAILURE: '#d64545',
  TIMED_OUT: '#d64545',
  ERROR: '#d64545',
  RETRY_LIMIT: '#d64545',
  CANCELED: '#d64545',
};
const FINAL = new Set([
  'SUCCESS',
  'SKIPPED',
  'FAILURE',
  'TIMED_OUT',
  'ERROR',
  'RETRY_LIMIT',
  'CANCELED',
]);

const ui = {
  /** The buildset shown in detail: chosen by a click, else the first running one. */
  selected: null,
  /** The build whose log is open, and its stream. */
  logRequest: null,
  logStream: null,
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function duration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

function clock(ms) {
  return ms ? new Date(ms).toLocaleTimeString() : '–';
}

function badge(state) {
  return el('span', { class: `badge s-${state}` }, state);
}

async function getJson(url) {
  const response = await fetch(url, { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

// ---- pipelines and queues -------------------------------------------------

function progressBar(p) {
  const bar = el('div', { class: 'progress', title: `${p.finished} of ${p.total} finished` });
  const part = (n, color) => {
    if (n > 0)
      bar.append(el('span', { style: `width:${(100 * n) / p.total}%;background:${color}` }));
  };
  part(p.succeeded, COLORS.SUCCESS);
  part(p.failed, COLORS.FAILURE);
  part(p.skipped, COLORS.SKIPPED);
  part(p.running, COLORS.RUNNING);
  part(p.queued, COLORS.QUEUED);
  return bar;
}

function eta(bs, now) {
  if (bs.state === 'done') return `ended ${clock(bs.endedAt)}`;
  const left = bs.estimatedEndAt - now;
  // Estimates come from past durations; without any, the end is simply not known.
  if (left <= 0) return 'ETA unknown';
  return `ETA ${clock(bs.estimatedEndAt)} (in ${duration(left)})`;
}

function buildsetCard(pipeline, bs, now) {
  const card = el('button', {
    class: 'buildset',
    type: 'button',
    'data-buildset': bs.id,
    'aria-pressed': ui.selected === bs.id,
  });
  const state = bs.result ?? bs.state;
  card.append(
    el('div', {}, badge(state), ' ', el('strong', {}, bs.id)),
    el('div', { class: 'muted' }, `${bs.ref} @ ${bs.commit.slice(0, 10)} · ${bs.trigger.detail}`),
    progressBar(bs.progress),
    el(
      'div',
      { class: 'muted' },
      `${bs.progress.finished}/${bs.progress.total} jobs · ${eta(bs, now)}`,
    ),
  );
  if (bs.message) card.append(el('div', { class: 'message' }, bs.message));
  card.addEventListener('click', () => {
    ui.selected = bs.id;
    void refresh();
  });
  return card;
}

function renderPipelines(pipelines, now) {
  const root = $('pipelines');
  root.replaceChildren();
  if (pipelines.length === 0)
    root.append(el('p', { class: 'muted' }, 'No pipeline has reported yet.'));
  for (const p of pipelines) {
    const queue = el('div', { class: 'queue' });
    for (const bs of p.buildsets ?? []) queue.append(buildsetCard(p.pipeline, bs, now));
    if ((p.buildsets ?? []).length === 0) queue.append(el('span', { class: 'muted' }, 'idle'));
    root.append(
      el(
        'div',
        { class: 'pipeline', 'data-pipeline': p.pipeline },
        el('h2', {}, p.pipeline, ' ', el('span', { class: 'muted' }, `(${p.manager ?? '?'})`)),
        queue,
      ),
    );
  }
}

// ---- job graph --------------------------------------------------------------

/** Column of each job: one more than its deepest dependency. */
function depths(jobs) {
  const byName = new Map(jobs.map((j) => [j.name, j]));
  const depth = new Map();
  const visit = (name, seen) => {
    if (depth.has(name)) return depth.get(name);
    if (seen.has(name)) return 0; // a cycle cannot be stored; stay safe anyway
    seen.add(name);
    const deps = byName.get(name)?.dependencies ?? [];
    const d = deps.length === 0 ? 0 : 1 + Math.max(...deps.map((x) => visit(x, seen)));
    depth.set(name, d);
    return d;
  };
  for (const j of jobs) visit(j.name, new Set());
  return depth;
}

function renderGraph(bs) {
  const jobs = bs.jobs;
  const depth = depths(jobs);
  const columns = [];
  for (const j of jobs) (columns[depth.get(j.name)] ??= []).push(j);
  const W = 170;
  const H = 30;
  const GAP_X = 50;
  const GAP_Y = 10;
  const pos = new Map();
  columns.forEach((col, c) =>
    col.forEach((j, r) => pos.set(j.name, { x: 10 + c * (W + GAP_X), y: 10 + r * (H + GAP_Y) })),
  );
  const rows = Math.max(1, ...columns.map((c) => c.length));
  const root = svg('svg', {
    width: 20 + columns.length * (W + GAP_X),
    height: 20 + rows * (H + GAP_Y),
    role: 'img',
    'aria-label': `job graph of ${bs.id}`,
  });
  for (const j of jobs) {
    const to = pos.get(j.name);
    for (const dep of j.dependencies) {
      const from = pos.get(dep);
      if (!from || !to) continue;
      const x1 = from.x + W;
      const y1 = from.y + H / 2;
      const x2 = to.x;
      const y2 = to.y + H / 2;
      const mid = (x1 + x2) / 2;
      root.append(
        svg('path', {
          class: 'graph-edge',
          d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`,
        }),
      );
    }
  }
  for (const j of jobs) {
    const { x, y } = pos.get(j.name);
    const node = svg(
      'g',
      { class: `graph-node s-${j.state}`, 'data-job': j.name, 'data-state': j.state, tabindex: 0 },
      svg('rect', { x, y, width: W, height: H, fill: COLORS[j.state] ?? COLORS.WAITING }),
      svg(
        'text',
        { x: x + 6, y: y + 19 },
        `${j.name.length > 24 ? `${j.name.slice(0, 23)}…` : j.name}`,
      ),
      svg('title', {}, `${j.name}: ${j.state}${j.reason ? ` (${j.reason})` : ''}`),
    );
    node.addEventListener('click', () => openLog(bs, j));
    root.append(node);
  }
  $('graph').replaceChildren(root);
}

// ---- timeline ---------------------------------------------------------------

/**
 * The chain that decides when the buildset ends: from the job that ends
 * last (or is expected to), back through the dependency that ended last
 * before it. Ends not reached yet use now + remaining.
 */
export function criticalChain(jobs, now) {
  const byName = new Map(jobs.map((j) => [j.name, j]));
  const end = (j) => j.endedAt ?? (j.startedAt !== null ? now + (j.remainingMs ?? 0) : null);
  const started = jobs.filter((j) => end(j) !== null && j.state !== 'SKIPPED');
  if (started.length === 0) return new Set();
  let current = started.reduce((a, b) => (end(b) > end(a) ? b : a));
  const chain = new Set([current.name]);
  for (;;) {
    const deps = current.dependencies.map((d) => byName.get(d)).filter((d) => d && end(d) !== null);
    if (deps.length === 0) break;
    current = deps.reduce((a, b) => (end(b) > end(a) ? b : a));
    if (chain.has(current.name)) break;
    chain.add(current.name);
  }
  return chain;
}

function renderGantt(bs, now) {
  const steps = [{ name: 'checkout', ...bs.checkout, dependencies: [] }, ...bs.jobs];
  const started = steps.filter((s) => s.startedAt !== null);
  const root = $('gantt');
  if (started.length === 0) {
    root.replaceChildren(el('p', { class: 'muted' }, 'Nothing has started yet.'));
    return;
  }
  const t0 = Math.min(...started.map((s) => s.startedAt));
  const t1 = Math.max(now, ...started.map((s) => s.endedAt ?? now));
  const span = Math.max(1, t1 - t0);
  const LABEL = 180;
  const WIDTH = 720;
  const ROW = 20;
  const x = (t) => LABEL + ((t - t0) / span) * WIDTH;
  const critical = criticalChain(bs.jobs, now);
  const chart = svg('svg', {
    width: LABEL + WIDTH + 60,
    height: 30 + steps.length * ROW,
    role: 'img',
    'aria-label': `timeline of ${bs.id}`,
  });
  const axis = svg('g', { class: 'gantt-axis' });
  for (let i = 0; i <= 4; i++) {
    const t = t0 + (span * i) / 4;
    axis.append(
      svg('line', { x1: x(t), x2: x(t), y1: 12, y2: 20 + steps.length * ROW }),
      svg('text', { x: x(t) + 2, y: 10 }, `+${duration(t - t0)}`),
    );
  }
  chart.append(axis);
  steps.forEach((s, i) => {
    const y = 16 + i * ROW;
    chart.append(
      svg('text', { x: 4, y: y + 13 }, s.name.length > 26 ? `${s.name.slice(0, 25)}…` : s.name),
    );
    if (s.startedAt === null) return;
    const end = s.endedAt ?? now;
    const bar = svg(
      'g',
      {
        class: `gantt-bar${critical.has(s.name) ? ' critical' : ''}`,
        'data-job': s.name,
        'data-state': s.state,
      },
      svg('rect', {
        x: x(s.startedAt),
        y,
        width: Math.max(2, x(end) - x(s.startedAt)),
        height: ROW - 6,
        fill: COLORS[s.state] ?? COLORS.WAITING,
      }),
      svg(
        'title',
        {},
        `${s.name}: ${s.state}, ${duration(end - s.startedAt)}${FINAL.has(s.state) ? '' : ' so far'}`,
      ),
    );
    bar.addEventListener('click', () => openLog(bs, s));
    chart.append(bar);
  });
  root.replaceChildren(chart);
}

function renderDetail(pipelines, now) {
  const all = pipelines.flatMap((p) => (p.buildsets ?? []).map((bs) => ({ p, bs })));
  let pick = all.find((x) => x.bs.id === ui.selected);
  pick ??= all.find((x) => x.bs.state === 'running' || x.bs.state === 'checkout');
  pick ??= all[0];
  const section = $('detail');
  if (!pick) {
    section.hidden = true;
    return;
  }
  ui.selected = pick.bs.id;
  for (const card of document.querySelectorAll('.buildset'))
    card.setAttribute('aria-pressed', String(card.dataset.buildset === ui.selected));
  section.hidden = false;
  const bs = pick.bs;
  $('detail-title').replaceChildren(`${pick.p.pipeline} / ${bs.id} `, badge(bs.result ?? bs.state));
  const held = bs.semaphores?.length ? ` · semaphores ${bs.semaphores.join(', ')}` : '';
  $('detail-meta').textContent =
    `${bs.ref} @ ${bs.commit} · ${bs.trigger.detail} · started ${clock(bs.startedAt)} · ${eta(bs, now)}${held}`;
  renderGraph(bs);
  renderGantt(bs, now);
}

// ---- live log ---------------------------------------------------------------

function openLog(bs, step) {
  if (!step.requestId) return;
  if (ui.logRequest === step.requestId) return;
  ui.logStream?.close();
  ui.logRequest = step.requestId;
  $('log').hidden = false;
  $('log-title').textContent = `Log of ${step.name} (attempt ${step.attempt}) in ${bs.id}`;
  const text = $('log-text');
  text.textContent = '';
  const stream = new EventSource(`/api/builds/${encodeURIComponent(step.requestId)}/log?follow=1`);
  ui.logStream = stream;
  const append = (event) => {
    let chunk = event.data;
    try {
      const parsed = JSON.parse(event.data);
      if (typeof parsed === 'string') chunk = parsed;
      else if (parsed && typeof parsed.text === 'string') chunk = parsed.text;
    } catch {
      // plain text data
    }
    text.textContent += chunk.endsWith('\n') ? chunk : `${chunk}\n`;
    text.scrollTop = text.scrollHeight;
  };
  stream.addEventListener('message', append);
  stream.addEventListener('log', append);
  stream.addEventListener('end', () => stream.close());
  // The server's own failure (the build's log is gone, its executor left...).
  stream.addEventListener('failure', (event) => {
    text.textContent += `\n[${event.data}]\n`;
    stream.close();
  });
  stream.addEventListener('error', () => {
    if (stream.readyState === EventSource.CLOSED) text.textContent += '\n[log stream closed]\n';
  });
}

// ---- history ----------------------------------------------------------------

async function refreshHistory() {
  const root = $('history');
  try {
    const body = await getJson('/api/buildsets?limit=10');
    const rows = Array.isArray(body) ? body : (body.buildsets ?? body.items ?? []);
    if (rows.length === 0) {
      root.textContent = 'No finished buildset yet.';
      return;
    }
    const table = el(
      'table',
      {},
      el(
        'tr',
        {},
        ...['pipeline', 'buildset', 'result', 'ref', 'ended', 'took'].map((h) => el('th', {}, h)),
      ),
    );
    for (const r of rows) {
      const ended = r.endedAt ?? r.ended_at ?? null;
      const startedAt = r.startedAt ?? r.started_at ?? null;
      const endMs = typeof ended === 'string' ? Date.parse(ended) : ended;
      const startMs = typeof startedAt === 'string' ? Date.parse(startedAt) : startedAt;
      table.append(
        el(
          'tr',
          { 'data-history': r.id },
          el('td', {}, r.pipeline ?? ''),
          el('td', {}, r.id ?? ''),
          el('td', {}, badge(r.result ?? '?')),
          el('td', {}, r.ref ?? ''),
          el('td', {}, clock(endMs)),
          el('td', {}, endMs && startMs ? duration(endMs - startMs) : '–'),
        ),
      );
    }
    root.replaceChildren(table);
    root.classList.remove('muted');
  } catch (e) {
    root.textContent = `History is not available (${e.message}).`;
  }
}

// ---- main loop ------------------------------------------------------------

let inFlight = false;

async function refresh() {
  if (inFlight) return;
  inFlight = true;
  const conn = $('conn');
  try {
    const body = await getJson('/api/status');
    const pipelines = body.pipelines ?? [];
    const now = Date.now();
    renderPipelines(pipelines, now);
    renderDetail(pipelines, now);
    conn.dataset.state = 'ok';
    conn.textContent = 'live';
    const newest = Math.max(0, ...pipelines.map((p) => p.generatedAt ?? 0));
    $('generated').textContent = newest ? `scheduler wrote at ${clock(newest)}` : '';
  } catch (e) {
    conn.dataset.state = 'error';
    conn.textContent = `cannot reach the API: ${e.message}`;
  } finally {
    inFlight = false;
  }
}

void refresh();
void refreshHistory();
setInterval(() => void refresh(), REFRESH_MS);
setInterval(() => void refreshHistory(), HISTORY_REFRESH_MS);
