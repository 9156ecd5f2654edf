/**
 * Run as a process of its own by sqlite.test.ts: opens (migrating) the
 * SQLite history at argv[2] and writes buildset `proc-<argv[3]>`, as a
 * scheduler on the same host would. Exits non-zero on any error.
 */
import { pino } from 'pino';
import { createHistoryStore, historyEntryOf } from '../../src/history/index.js';
import { finishedBuildset } from './support.js';

const [path, n] = process.argv.slice(2);
if (path === undefined || n === undefined) throw new Error('usage: child-writer.ts <path> <n>');
const store = createHistoryStore({ kind: 'sqlite', path }, pino({ level: 'silent' }));
await store.open();
await store.put(historyEntryOf(finishedBuildset({ id: `proc-${n}`, endedAt: 1_000_000 })));
await store.close();
