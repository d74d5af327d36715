// The loader is the only place user code runs — including getters and proxies hidden in what a
// model exports, which would otherwise run (and throw) during normalization and surface as an
// "internal error". So the export is copied into plain data here, every property read once, and
// a throwing one is a LoadError naming the file and the property.
import { LoadError } from "../errors.js";
import { setOwn } from "../own-property.js";

/**
 * Plain objects and arrays are copied (a shared object stays shared, so `activatesAfter: [web]`
 * still points at the same process, and cycles stay cycles); anything else is kept as it is for
 * normalization to judge.
 */
export function snapshotExport(value: unknown, file: string): unknown {
  const copies = new Map<object, unknown>();

  const copy = (item: unknown, where: string): unknown => {
    if (item === null || typeof item !== "object") return item;
    const known = copies.get(item);
    if (known !== undefined) return known;
    let isArray: boolean;
    let plain: boolean;
    try {
      isArray = Array.isArray(item);
      const proto = Object.getPrototypeOf(item);
      plain = isArray || proto === Object.prototype || proto === null;
    } catch (error) {
      throw readError(file, where, error);
    }
    if (!plain) return item;
    if (isArray) {
      const out: unknown[] = [];
      copies.set(item, out);
      let length: number;
      try {
        length = (item as unknown[]).length;
      } catch (error) {
        throw readError(file, where, error);
      }
      for (let index = 0; index < length; index++) out.push(copy(read(item, index, `${where}[${index}]`), `${where}[${index}]`));
      return out;
    }
    const out: Record<string, unknown> = Object.create(Object.getPrototypeOf(item) === null ? null : Object.prototype);
    copies.set(item, out);
    let keys: string[];
    try {
      keys = Object.keys(item);
    } catch (error) {
      throw readError(file, where, error);
    }
    for (const key of keys) {
      const path = where === "" ? key : `${where}.${key}`;
      setOwn(out, key, copy(read(item, key, path), path)); // `out[key] =` would set the prototype for "__proto__"
    }
    return out;
  };

  const read = (item: object, key: string | number, where: string): unknown => {
    try {
      return (item as Record<string | number, unknown>)[key];
    } catch (error) {
      throw readError(file, where, error);
    }
  };

  try {
    return copy(value, "");
  } catch (error) {
    if (error instanceof LoadError) throw error;
    // A RangeError from a structure nested thousands deep.
    const message = error instanceof Error ? error.message : String(error);
    throw new LoadError(file, `the model cannot be read: ${error instanceof RangeError ? `it nests too deeply (${message})` : message}`, { cause: error });
  }
}

function readError(file: string, where: string, error: unknown): LoadError {
  const message = error instanceof Error ? error.message : String(error);
  return new LoadError(file, `reading ${where === "" ? "the exported model" : `"${where}"`} threw: ${message}`, { cause: error });
}
