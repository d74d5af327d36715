// How deeply a model's data nests. Substitution, freezing, canonical JSON and the generators walk
// values recursively, so a value nested thousands deep (a hostile or generated model) would
// overflow the stack there as an "internal error": it is refused first, by this iterative walk.

/** Far more than any field needs (overrides.systemd.Service.Key is 4 below the process). */
export const MAX_NESTING = 64;

export interface NestingProblem {
  /** Keys and indexes from the value given down to where the limit is passed, or the cycle closes. */
  readonly path: readonly (string | number)[];
  readonly kind: "too-deep" | "cycle";
}

/**
 * The first place where objects and arrays nest more than `limit` deep (the value itself counts
 * as one), or where one contains itself. Each object is walked once, however often it is shared.
 */
export function findNestingProblem(value: unknown, limit = MAX_NESTING): NestingProblem | undefined {
  if (value === null || typeof value !== "object") return undefined;
  /** Objects walked already, with their height (1 for one without objects inside). */
  const heights = new Map<object, number>();
  const onPath = new Set<object>();
  const stack: { value: object; key: string | number | undefined; children: [string | number, unknown][]; height: number }[] = [];
  const enter = (item: object, key: string | number | undefined) => {
    onPath.add(item);
    const children: [string | number, unknown][] = Array.isArray(item) ? item.map((child, index) => [index, child]) : Object.entries(item);
    stack.push({ value: item, key, children: children.reverse(), height: 1 });
  };
  const pathTo = (last?: string | number) => [...stack.slice(1).map((frame) => frame.key!), ...(last !== undefined ? [last] : [])];
  enter(value, undefined);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    const next = frame.children.pop();
    if (next === undefined) {
      stack.pop();
      onPath.delete(frame.value);
      heights.set(frame.value, frame.height);
      const parent = stack[stack.length - 1];
      if (parent !== undefined) parent.height = Math.max(parent.height, frame.height + 1);
      continue;
    }
    const [key, child] = next;
    if (child === null || typeof child !== "object") continue;
    if (onPath.has(child)) return { path: pathTo(key), kind: "cycle" };
    const height = heights.get(child);
    if (stack.length + (height ?? 1) > limit) return { path: pathTo(key), kind: "too-deep" };
    if (height !== undefined) frame.height = Math.max(frame.height, height + 1);
    else enter(child, key);
  }
  return undefined;
}

/** `a.environment.x[0]`, cut short after a few steps: the path of a deep value is long. */
export function formatNestingPath(path: readonly (string | number)[], shown = 6): string {
  let out = "";
  for (const step of path.slice(0, shown)) {
    out += typeof step === "number" ? `[${step}]` : `${out === "" ? "" : "."}${/^[A-Za-z0-9_$-]+$/.test(step) ? step : JSON.stringify(step)}`;
  }
  return path.length > shown ? `${out}…` : out;
}
