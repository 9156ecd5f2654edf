/**
 * Makes the loaded layout immutable at run time, not only in the types:
 * schedulers share one layout object, and a stray write must fail loudly.
 */

const sealed = new WeakSet<object>();

/** A Map that refuses writes once constructed. */
export class FrozenMap<K, V> extends Map<K, V> {
  constructor(entries: Iterable<readonly [K, V]>) {
    super(entries);
    sealed.add(this);
    Object.freeze(this);
  }

  override set(key: K, value: V): this {
    if (sealed.has(this)) throw new TypeError('the layout is frozen');
    return super.set(key, value);
  }

  override delete(): boolean {
    throw new TypeError('the layout is frozen');
  }

  override clear(): void {
    throw new TypeError('the layout is frozen');
  }
}

export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const v of Object.values(value as object)) deepFreeze(v);
  return value;
}
