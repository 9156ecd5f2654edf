/**
 * Rules across sections: options each fine alone that do not work together.
 * A rule is skipped when one of its keys already had an error, so a typo
 * is reported once, not again as a conflict.
 */
import { DAEMON_E, DAEMON_W } from './daemon-errors.js';
import type { Fields } from './daemon-fields.js';
import { formatHostPort } from './daemon-formats.js';
import { BASTION_RESERVED_CHANNELS } from './daemon-keys.js';
import type { DaemonReader } from './daemon-read.js';
import type { BastionConfig, ExecutorConfig, HostPort, WebConfig } from './daemon-types.js';

export interface RuleInput {
  readonly bastion: { readonly value: BastionConfig; readonly fields: Fields };
  readonly executor: { readonly value: ExecutorConfig; readonly fields: Fields };
  readonly web: { readonly value: WebConfig; readonly fields: Fields };
}

export function checkRules(r: DaemonReader, c: RuleInput): void {
  checkSessions(r, c);
  checkListeners(r, c);
}

/** Each running build holds one SSH channel; the connection keeps some for itself. */
function checkSessions(r: DaemonReader, c: RuleInput): void {
  if (!r.clean('executor.slots', 'bastion.sessionLimit')) return;
  const { slots } = c.executor.value;
  const { sessionLimit } = c.bastion.value;
  const forBuilds = sessionLimit - BASTION_RESERVED_CHANNELS;
  if (slots <= forBuilds) return;
  // Point at whichever of the two the operator wrote; slots first, it is the usual fix.
  const [key, fields] = c.executor.fields.has('slots')
    ? (['executor.slots', c.executor.fields] as const)
    : (['bastion.sessionLimit', c.bastion.fields] as const);
  const name = key.split('.')[1] as string;
  r.warn(
    DAEMON_W.sessions,
    fields.lineOf(name),
    key,
    `executor.slots is ${slots} but bastion.sessionLimit ${sessionLimit} leaves ${forBuilds} SSH ` +
      `channels for builds (${BASTION_RESERVED_CHANNELS} are kept for SFTP and control): ` +
      `builds beyond ${forBuilds} will wait`,
  );
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
