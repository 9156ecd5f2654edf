/**
 * `log.format: pretty` without pino-pretty: a destination that turns each
 * JSON line pino writes into `12:00:00.000 INFO  [executor] message key=value`.
 * Redaction has already happened by then; this only changes the layout.
 */

export interface LineSink {
  write(text: string): unknown;
}

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
};
const OMIT = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'component', 'err']);

export function prettyDestination(out: LineSink): LineSink {
  return { write: (chunk: string) => out.write(prettyLine(chunk)) };
}

/** One pino JSON line in, one readable line (plus an error's stack) out. */
export function prettyLine(chunk: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(chunk) as Record<string, unknown>;
  } catch {
    return chunk;
  }
  const time = typeof rec.time === 'number' ? new Date(rec.time).toISOString().slice(11, 23) : '';
  const level = LEVELS[rec.level as number] ?? String(rec.level);
  const component = typeof rec.component === 'string' ? `[${rec.component}] ` : '';
  const fields = Object.entries(rec)
    .filter(([k]) => !OMIT.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const err = rec.err as { stack?: unknown; message?: unknown } | undefined;
  const stack = typeof err?.stack === 'string' ? `\n    ${err.stack.replace(/\n/g, '\n    ')}` : '';
  const msg = typeof rec.msg === 'string' ? rec.msg : '';
  return `${time} ${level} ${component}${msg}${fields.length ? ` ${fields.join(' ')}` : ''}${stack}\n`;
}
