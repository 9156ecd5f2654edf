/**
 * One Drawbridge component (a scheduler or the executor) in a Node process of
 * its own, for the scheduler bench: in production each daemon has its own
 * event loop, and a bench that hosts all of them in one process measures
 * their queueing behind each other instead.
 *
 * `node --import @swc-node/register/esm-register bench/component-process.ts SPEC.json`
 * Prints `ready` once started. Stops when its stdin closes (also if the bench
 * dies), then exits. The bench reads its CPU time from /proc.
 */
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { loadLayout, loadLayoutFromSources, type Layout } from '../src/config/index.js';
import { Executor, type ExecutorOptions } from '../src/executor/index.js';
import { Scheduler } from '../src/scheduler/runtime/index.js';
import { ZkPaths } from '../src/zk/paths.js';
import { connectZooKeeper } from '../src/zk/zk-client.js';

/** Where the layout comes from: files on disk, or sources in memory. */
export type LayoutSpec =
  | { readonly dirs: readonly string[] }
  | { readonly sources: readonly { readonly file: string; readonly text: string }[] };

export type ComponentSpec = (
  | {
      readonly kind: 'executor';
      readonly connectString: string;
      /** ExecutorOptions with the bastion key as a path (a Buffer does not survive JSON). */
      readonly options: Omit<ExecutorOptions, 'bastion'> & {
        readonly bastion: Omit<ExecutorOptions['bastion'], 'privateKey'> & {
          readonly privateKeyPath: string;
        };
      };
    }
  | { readonly kind: 'scheduler'; readonly connectString: string; readonly layout: LayoutSpec }
) & {
  /** Debug log (NDJSON) for tracing a run; none by default, logging costs CPU. */
  readonly logFile?: string;
};

async function layoutOf(spec: LayoutSpec): Promise<Layout> {
  const loaded =
    'dirs' in spec ? await loadLayout([...spec.dirs]) : loadLayoutFromSources([...spec.sources]);
  if (!loaded.layout)
    throw new Error(`bench layout invalid: ${loaded.errors.map((e) => e.message).join('; ')}`);
  return loaded.layout;
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: component-process.ts SPEC.json');
  const spec = JSON.parse(readFileSync(file, 'utf8')) as ComponentSpec;
  const logger = spec.logFile
    ? pino({ level: 'debug' }, pino.destination({ dest: spec.logFile, sync: true }))
    : pino({ level: 'silent' });
  const paths = new ZkPaths('/drawbridge');
  const zk = await connectZooKeeper({
    connectString: spec.connectString,
    sessionTimeoutMs: 10_000,
  });
  let component: { stop(): Promise<void> };
  if (spec.kind === 'executor') {
    const { privateKeyPath, ...bastion } = spec.options.bastion;
    const executor = new Executor(
      { ...spec.options, bastion: { ...bastion, privateKey: readFileSync(privateKeyPath) } },
      { zk, paths, logger },
    );
    await executor.start();
    component = executor;
  } else {
    const layout = await layoutOf(spec.layout);
    const scheduler = new Scheduler(
      { version: 'bench' },
      { zk, paths, layout, layoutVersion: 'bench', logger },
    );
    await scheduler.start();
    component = scheduler;
  }
  process.stdout.write('ready\n');
  process.stdin.resume();
  await new Promise<void>((resolve) => process.stdin.once('close', resolve));
  await component.stop();
  await zk.close();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
