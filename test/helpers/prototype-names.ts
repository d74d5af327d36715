// Process names that are also Object.prototype's keys ("constructor", "__proto__", "toString", …):
// valid names, which a plain object used as a map gets wrong.
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export const PROTOTYPE_NAMES: readonly string[] = Object.getOwnPropertyNames(Object.prototype).filter((key) => NAME.test(key));
