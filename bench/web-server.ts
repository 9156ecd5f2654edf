/**
 * The web app in a process of its own for the web benchmark, so the load
 * generator and the server each have a core. Argument: JSON { connectString }.
 * Prints one line, { "url": ... }, once it listens; exits on SIGTERM.
 */
import pino from 'pino';
import { buildWebApp } from '../src/web/index.js';
import { ZkPaths } from '../src/zk/index.js';
import { connectZooKeeper } from '../src/zk/zk-client.js';

const { connectString } = JSON.parse(process.argv[2] ?? '{}') as { connectString: string };
const zk = await connectZooKeeper({ connectString, sessionTimeoutMs: 10_000 });
const app = buildWebApp({ zk, paths: new ZkPaths('/drawbridge'), logger: pino({ level: 'warn' }) });
const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ url })}\n`);
process.once('SIGTERM', () => {
  void app.close().then(() => zk.close().then(() => process.exit(0)));
});
