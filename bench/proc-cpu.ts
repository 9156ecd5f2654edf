/**
 * Where a bench's CPU goes. CPU time of process trees, read from /proc/<pid>/stat: a tree's figure is
 * utime + stime + cutime + cstime summed over its live processes, so a child
 * already reaped counts once, in its parent's cutime/cstime. Processes that
 * left the tree and were reaped by init (orphans) are not counted.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fourLetter } from '../test/fixtures/zookeeper.js';

/** /proc/[pid]/stat times are in clock ticks: 100 per second on Linux. */
const TICK_MS = 10;

interface Stat {
  readonly ppid: number;
  readonly ms: number;
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined; // exited meanwhile
  }
  // Fields after the command name, which may hold spaces and parentheses.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const n = (i: number): number => Number(f[i] ?? 0);
  // f[1] ppid; f[11..14] utime stime cutime cstime (stat fields 14..17).
  return { ppid: n(1), ms: (n(11) + n(12) + n(13) + n(14)) * TICK_MS };
}

/** CPU ms of each named tree (root pid and every live descendant), at this moment. */
export function treeCpuMs(roots: Readonly<Record<string, number>>): Record<string, number> {
  const stats = new Map<number, Stat>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const s = readStat(pid);
    if (s) stats.set(pid, s);
  }
  const children = new Map<number, number[]>();
  for (const [pid, s] of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  const out: Record<string, number> = {};
  for (const [name, root] of Object.entries(roots)) {
    let ms = 0;
    const todo = [root];
    for (let pid = todo.pop(); pid !== undefined; pid = todo.pop()) {
      ms += stats.get(pid)?.ms ?? 0;
      todo.push(...(children.get(pid) ?? []));
    }
    out[name] = ms;
  }
  return out;
}

/** The difference of two `treeCpuMs` readings, per tree, divided by `per` (say, builds). */
export function cpuDelta(
  before: Readonly<Record<string, number>>,
  after: Readonly<Record<string, number>>,
  per: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, ms] of Object.entries(after))
    out[name] = Math.round(((ms - (before[name] ?? 0)) / per) * 100) / 100;
  return out;
}

/**
 * A ZooKeeper server's received-packet count (requests of every client, pings
 * included) and its transactions so far (the zxid's counter: a multi is one).
 */
export async function zkCounters(connectString: string): Promise<Record<string, number>> {
  const mntr = await fourLetter(connectString, 'mntr');
  const srvr = await fourLetter(connectString, 'srvr');
  const received = /zk_packets_received\s+(\d+)/.exec(mntr)?.[1];
  const zxid = /Zxid: (0x[0-9a-f]+)/.exec(srvr)?.[1];
  if (received === undefined || zxid === undefined)
    throw new Error(`no counters from ZooKeeper: ${mntr.slice(0, 200)} ${srvr.slice(0, 200)}`);
  // The low 32 bits count transactions within the leader's epoch.
  return { requests: Number(received), transactions: Number(BigInt(zxid) & 0xffffffffn) };
}
