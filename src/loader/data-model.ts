// YAML and JSON models. A data file cannot compute paths, so its strings may name the context:
// `${stateDir}`, `${runtimeDir}`, `${logDir}`, `${tmpDir}`, `${cacheDir}` and `${modelDir}` are
// replaced, `$${name}` writes a literal `${name}`, and every other `$` is left alone.
import path from "node:path";
import { LoadError } from "../errors.js";
import { findNestingProblem, formatNestingPath, MAX_NESTING } from "../model/nesting.js";
import type { ProcessContext } from "../model/types.js";

const CONTEXT_KEYS = ["stateDir", "runtimeDir", "logDir", "tmpDir", "cacheDir", "modelDir"] as const;
const REFERENCE = new RegExp(`(\\$?)\\$\\{(${CONTEXT_KEYS.join("|")})\\}`, "g");

export async function parseDataModel(text: string, file: string, context: ProcessContext): Promise<unknown> {
  // JSON is YAML 1.2, but the YAML parser takes ~0.3 ms per process: a .json model goes through
  // JSON.parse, and only one that JSON.parse refuses, or that repeats a key (which JSON.parse would
  // silently drop), goes through the YAML parser, for the error's line and column. The parser is
  // loaded only then (about 8 ms of every command's start for a file nothing else needs).
  if (path.extname(file).toLowerCase() === ".json") {
    const data = parseStrictJson(text);
    if (data !== undefined) return checked(data, file, context);
  }
  const { parseYaml } = await import("./yaml-document.js");
  return checked(parseYaml(text, file), file, context);
}

function checked(data: unknown, file: string, context: ProcessContext): unknown {
  if (data === null || data === undefined) throw new LoadError(file, "the model is empty");
  if (typeof data !== "object") {
    throw new LoadError(file, `the model must be a mapping from name to process or a list of processes (got ${typeof data})`);
  }
  // substitute and everything after it recurse: a value nested thousands deep is refused here.
  const problem = findNestingProblem(data);
  if (problem !== undefined) {
    const where = formatNestingPath(problem.path);
    throw new LoadError(file, problem.kind === "cycle" ? `"${where}" contains itself` : `"${where}" nests more than ${MAX_NESTING} levels deep; a model needs a few`);
  }
  return substitute(data, context);
}

/** JSON.parse's value, or undefined when the text is not JSON or repeats a key in an object. */
function parseStrictJson(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return hasDuplicateKey(text) ? undefined : value;
}

/**
 * One pass over text that JSON.parse accepted: per open object the keys seen so far. A string is
 * a key when it follows `{` or a `,` inside an object; only keys with escapes are decoded.
 */
function hasDuplicateKey(text: string): boolean {
  const stack: (Set<string> | undefined)[] = []; // a Set per object, undefined per array
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      let escaped = false;
      for (i++; text.charCodeAt(i) !== 0x22; i++) {
        if (text.charCodeAt(i) === 0x5c /* \ */) {
          escaped = true;
          i++;
        }
      }
      if (expectKey) {
        const raw = text.slice(start, i + 1);
        const key = escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        const keys = stack.at(-1)!;
        if (keys.has(key)) return true;
        keys.add(key);
        expectKey = false;
      }
    } else if (c === 0x7b /* { */) {
      stack.push(new Set());
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push(undefined);
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      expectKey = stack.at(-1) !== undefined;
    }
  }
  return false;
}

export function substitute(value: unknown, context: ProcessContext): unknown {
  if (typeof value === "string") {
    return value.replace(REFERENCE, (_, escape: string, key: (typeof CONTEXT_KEYS)[number]) =>
      escape === "$" ? `\${${key}}` : context[key],
    );
  }
  if (Array.isArray(value)) return value.map((item) => substitute(item, context));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substitute(item, context)]));
  }
  return value;
}
