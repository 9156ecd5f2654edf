/**
 * The status page in a real headless browser (Debian's chromium driven by
 * playwright-core): it shows the pipelines and their queues, the selected
 * buildset's job graph and timeline with the critical path marked, follows
 * the status as the scheduler rewrites it, opens a build's live log, and
 * asks nothing of any host but the one it came from. A screenshot is saved
 * under test-results/ for people to look at.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Buildset } from '../../src/model/index.js';
import { applyInput } from '../../src/scheduler/index.js';
import { writeStatus } from '../../src/scheduler/runtime/status-writer.js';
import { buildset, completion, dispatchAll, job } from '../../src/scheduler/test-fixtures.js';
import { newWorld, serveApp, type Served, type World } from './support.js';

const SCREENSHOTS = new URL('../../test-results/', import.meta.url).pathname;
// The flags a root user on a closed network needs (see docs/operations.md).
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** What the tests read of an element in the page (the DOM types are not in this project's lib). */
interface Tagged {
  getAttribute(name: string): string | null;
  readonly classList: { contains(name: string): boolean };
}

/** bootstrap → base → {dns, mail} → letsencrypt(dns): base and dns done, mail running. */
function deployBuildset(t0: number): Buildset {
  let bs = buildset(
    [
      job('bootstrap'),
      job('base', ['bootstrap']),
      job('dns', ['base']),
      job('mail', ['base']),
      job('letsencrypt', ['dns']),
    ],
    { id: 'deploy-1', pipeline: 'deploy', now: t0 },
  );
  const started = (requestId: string, at: number) =>
    (bs = applyInput(bs, { type: 'build-started', requestId, at }, at).buildset);
  bs = applyInput(bs, { type: 'start', requestId: 'deploy-1-co' }, t0).buildset;
  started('deploy-1-co', t0 + 100);
  bs = applyInput(bs, completion(bs, 'checkout', 'SUCCESS'), t0 + 1_000).buildset;
  const finish = (name: string, at: number) => {
    bs = dispatchAll(bs, at - 1_900);
    started(step(name), at - 1_800);
    bs = applyInput(bs, completion(bs, name, 'SUCCESS'), at).buildset;
  };
  const step = (name: string) => bs.jobs.find((j) => j.name === name)!.requestId!;
  finish('bootstrap', t0 + 2_000);
  finish('base', t0 + 4_000);
  finish('dns', t0 + 6_000);
  bs = dispatchAll(bs, t0 + 6_100);
  started(step('mail'), t0 + 6_200);
  return bs;
}

describe('status page in a headless browser', () => {
  let world: World;
  let served: Served;
  let browser: Browser;
  let page: Page;
  const foreign: string[] = [];
  let bs: Buildset;

  const publish = async (record: Buildset) => {
    await writeStatus(world.zk, world.paths, {
      state: { pipeline: record.pipeline, queue: [record.id] },
      manager: 'serial',
      buildsets: new Map([[record.id, record]]),
      now: Date.now(),
    });
  };

  beforeAll(async () => {
    world = await newWorld('status-page');
    bs = deployBuildset(Date.now() - 10_000);
    await publish(bs);
    served = await serveApp(world);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('request', (r) => {
      if (!r.url().startsWith(served.url) && !r.url().startsWith('data:')) foreign.push(r.url());
    });
    await page.goto(served.url);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await served?.close();
    await world?.close();
  });

  it('shows the pipeline, its queue and the buildset with its progress', async () => {
    const card = page.locator('[data-pipeline="deploy"] [data-buildset="deploy-1"]');
    await card.waitFor({ timeout: 15_000 });
    const text = await card.innerText();
    expect(text).toContain('running');
    expect(text).toContain('3/5 jobs');
  });

  it('draws the job graph with every job in its state', async () => {
    await page.locator('#graph .graph-node').first().waitFor({ timeout: 15_000 });
    const nodes = await page
      .locator('#graph .graph-node')
      .evaluateAll((els: Tagged[]) =>
        els.map((e) => [e.getAttribute('data-job'), e.getAttribute('data-state')]),
      );
    expect(nodes.sort()).toEqual(
      [
        ['base', 'SUCCESS'],
        ['bootstrap', 'SUCCESS'],
        ['dns', 'SUCCESS'],
        ['letsencrypt', 'QUEUED'],
        ['mail', 'RUNNING'],
      ].sort(),
    );
    expect(await page.locator('#graph .graph-edge').count()).toBe(4);
  });

  it('draws the timeline of the builds with the critical path marked', async () => {
    const bars = await page
      .locator('#gantt .gantt-bar')
      .evaluateAll((els: Tagged[]) =>
        els.map((e) => [e.getAttribute('data-job'), e.classList.contains('critical')] as const),
      );
    // Started steps only: the checkout and four jobs (letsencrypt is queued, not started).
    expect(bars.map(([j]) => j).sort()).toEqual(['base', 'bootstrap', 'checkout', 'dns', 'mail']);
    const critical = bars.filter(([, c]) => c).map(([j]) => j);
    // Mail runs on and ends last: its chain back through base to bootstrap is the critical one.
    expect(critical.sort()).toEqual(['base', 'bootstrap', 'mail']);
  });

  it('follows the status as the scheduler rewrites it', async () => {
    const at = Date.now();
    bs = applyInput(bs, completion(bs, 'mail', 'FAILURE'), at).buildset;
    await publish(bs);
    await page
      .locator('#graph .graph-node[data-job="mail"][data-state="FAILURE"]')
      .waitFor({ timeout: 15_000 });
  });

  it('opens the live log of a build it is clicked on', async () => {
    const mail = bs.jobs.find((j) => j.name === 'mail')!;
    const asked = page.waitForRequest((r) => r.url().includes('/log?follow=1'), {
      timeout: 10_000,
    });
    await page.locator('#graph .graph-node[data-job="mail"]').click();
    const request = await asked;
    expect(request.url()).toBe(
      `${served.url}/api/builds/${encodeURIComponent(mail.requestId!)}/log?follow=1`,
    );
    expect(await page.locator('#log-title').innerText()).toBe(
      'Log of mail (attempt 1) in deploy-1',
    );
  });

  it('loads nothing from any other host, and a screenshot is kept', async () => {
    expect(foreign).toEqual([]);
    mkdirSync(SCREENSHOTS, { recursive: true });
    const shot = await page.screenshot({ path: `${SCREENSHOTS}status-page.png`, fullPage: true });
    expect(shot.length).toBeGreaterThan(10_000);
  });
});
