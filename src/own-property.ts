// Process names (and environment variable names) are keys of plain objects in generator outputs,
// records and environments. `record[name] = value` with "__proto__" sets the prototype instead of
// a key, and `record[name]` with "constructor" reads Object's own: such keys go through these.

/** Sets `key` as an own, enumerable property, whatever its name. */
export function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, writable: true, enumerable: true, configurable: true });
}

/** The value of `key` when it is the record's own, never one inherited from Object.prototype. */
export function getOwn<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
