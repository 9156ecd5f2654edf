/**
 * `${NAME}` and `${NAME:-default}` in string values, from an environment map
 * the caller passes in (the loader never reads process.env). `$$` is a literal
 * `$`; any other `$` stays as written, so `$2b$...` hashes need no escaping.
 */

export type Env = Readonly<Record<string, string | undefined>>;

export type Interpolated =
  | { readonly ok: true; readonly value: string; readonly referencesEnv: boolean }
  | { readonly ok: false; readonly problems: readonly string[] };

const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([^]*))?$/;

/** Substitutes every reference; a substituted value is not scanned again. */
export function interpolate(text: string, env: Env): Interpolated {
  let out = '';
  let referencesEnv = false;
  const problems: string[] = [];
  let i = 0;
  while (i < text.length) {
    const at = text.indexOf('$', i);
    if (at < 0 || at === text.length - 1) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, at);
    const next = text[at + 1];
    if (next === '$') {
      out += '$';
      i = at + 2;
    } else if (next === '{') {
      const end = text.indexOf('}', at + 2);
      if (end < 0) {
        problems.push('unterminated "${" (write "$${" for a literal "${")');
        break;
      }
      referencesEnv = true;
      const resolved = resolve(text.slice(at + 2, end), env);
      if (typeof resolved === 'string') out += resolved;
      else problems.push(resolved.problem);
      i = end + 1;
    } else {
      out += '$';
      i = at + 1;
    }
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: out, referencesEnv };
}

function resolve(inner: string, env: Env): string | { problem: string } {
  const m = REFERENCE.exec(inner);
  if (m === null) {
    return { problem: `"\${${inner}}" is not a reference: expected \${NAME} or \${NAME:-default}` };
  }
  const name = m[1] as string;
  const fallback = m[2];
  // As in the shell, `:-` also replaces a variable that is set but empty.
  const value = Object.hasOwn(env, name) ? env[name] : undefined;
  if (fallback !== undefined) return value === undefined || value === '' ? fallback : value;
  if (value === undefined) {
    return {
      problem: `environment variable ${name} is not set (set it, or write \${${name}:-default})`,
    };
  }
  return value;
}
