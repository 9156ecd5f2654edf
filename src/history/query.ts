/**
 * The WHERE clauses of the history's list queries, built from a filter.
 * Pure. Values always travel as parameters, never inside the SQL text.
 */
import type { HistoryFilter, Page } from './types.js';

export interface Query {
  readonly sql: string;
  readonly params: readonly unknown[];
}

function where(filter: HistoryFilter, table: 'buildsets' | 'builds'): Query {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const add = (clause: string, value: unknown): void => {
    clauses.push(clause);
    params.push(value);
  };
  if (filter.pipeline !== undefined) add(`${table}.pipeline = ?`, filter.pipeline);
  if (filter.ref !== undefined) add(`${table}.ref = ?`, filter.ref);
  if (filter.result !== undefined) add(`${table}.result = ?`, filter.result);
  if (filter.since !== undefined) add(`${table}.ended_at >= ?`, filter.since);
  if (filter.until !== undefined) add(`${table}.ended_at < ?`, filter.until);
  if (filter.job !== undefined) {
    if (table === 'builds') add('builds.job = ?', filter.job);
    else
      add(
        'EXISTS (SELECT 1 FROM builds WHERE builds.buildset_id = buildsets.id AND builds.job = ?)',
        filter.job,
      );
  }
  return { sql: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

function list(table: 'buildsets' | 'builds', filter: HistoryFilter, page: Page): Query {
  const w = where(filter, table);
  return {
    sql: `SELECT * FROM ${table} ${w.sql} ORDER BY ${table}.ended_at DESC, ${table}.id DESC LIMIT ? OFFSET ?`,
    params: [...w.params, page.limit + 1, page.skip],
  };
}

export function buildsetQuery(filter: HistoryFilter, page: Page): Query {
  return list('buildsets', filter, page);
}

export function buildQuery(filter: HistoryFilter, page: Page): Query {
  return list('builds', filter, page);
}
