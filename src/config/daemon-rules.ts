/**
 * Rules across sections: options each fine alone that do not work together.
 * A rule is skipped when one of its keys already had an error, so a typo
 * is reported once, not again as a conflict.
 */
import { DAEMON_E } from './daemon-errors.js';
import type { Fields } from './daemon-fields.js';
import { formatHostPort } from './daemon-formats.js';
import type { DaemonReader } from './daemon-read.js';
import type { BastionConfig, ExecutorConfig, HostPort, WebConfig } from './daemon-types.js';

export interface RuleInput {
  readonly bastion: { readonly value: BastionConfig; readonly fields: Fields };
  readonly executor: { readonly value: ExecutorConfig; readonly fields: Fields };
  readonly web: { readonly value: WebConfig; readonly fields: Fields };
}

export function checkRules(r: DaemonReader, c: RuleInput): void {
  checkListeners(r, c);
}

/** `drawbridge run` binds both in one process, so they must differ. */
function checkListeners(r: DaemonReader, c: RuleInput): void {
  if (!r.clean('web.listen', 'executor.logStream')) return;
  const web = c.web.value.listen;
  const logs = c.executor.value.logStream;
  if (!overlaps(web, logs)) return;
  const key = c.web.fields.has('listen') ? 'web.listen' : 'executor.logStream';
  const fields = key === 'web.listen' ? c.web.fields : c.executor.fields;
  r.error(
    DAEMON_E.conflict,
    fields.lineOf(key.split('.')[1] as string),
    key,
    `web.listen (${formatHostPort(web)}) and executor.logStream (${formatHostPort(logs)}) ` +
      'use the same port; an all-in-one process could not bind both',
  );
}

const WILDCARD = new Set(['0.0.0.0', '::']);

function overlaps(a: HostPort, b: HostPort): boolean {
  return a.port === b.port && (a.host === b.host || WILDCARD.has(a.host) || WILDCARD.has(b.host));
}
