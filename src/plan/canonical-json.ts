// JSON with object keys sorted: equal values give equal text, whatever the key order. Loops and
// string appends rather than entries/map/join: it runs once per spec of every switch.
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value ?? null);
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) out += (i > 0 ? "," : "") + canonicalJson(value[i]);
    return `${out}]`;
  }
  // The default sort orders by UTF-16 code units, as `<` does.
  const keys = Object.keys(value).sort();
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    out += `${i > 0 ? "," : ""}${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key] ?? null)}`;
  }
  return `${out}}`;
}
