// YAML and JSON models. A data file cannot compute paths, so its strings may name the context:
// `${stateDir}`, `${runtimeDir}`, `${logDir}`, `${tmpDir}`, `${cacheDir}` and `${modelDir}` are
// replaced, `$${name}` writes a literal `${name}`, and every other `$` is left alone.
import { LineCounter, parseDocument } from "yaml";
import { LoadError } from "../errors.js";
import type { ProcessContext } from "../model/types.js";

const CONTEXT_KEYS = ["stateDir", "runtimeDir", "logDir", "tmpDir", "cacheDir", "modelDir"] as const;
const REFERENCE = new RegExp(`(\\$?)\\$\\{(${CONTEXT_KEYS.join("|")})\\}`, "g");

export function parseDataModel(text: string, file: string, context: ProcessContext): unknown {
  const lineCounter = new LineCounter();
  // JSON is YAML 1.2; parsing both with one parser gives line numbers and rejects duplicate keys,
  // which JSON.parse would silently drop.
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problem = document.errors[0];
  if (problem !== undefined) {
    const position = lineCounter.linePos(problem.pos[0]);
    throw new LoadError(file, `syntax error: ${problem.message.split("\n")[0]}`, { line: position.line, column: position.col });
  }
  let data: unknown;
  try {
    data = document.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    // e.g. "Excessive alias count": bad input, not a bug in procman.
    throw new LoadError(file, error instanceof Error ? error.message : String(error), { cause: error });
  }
  if (data === null || data === undefined) throw new LoadError(file, "the model is empty");
  if (typeof data !== "object") {
    throw new LoadError(file, `the model must be a mapping from name to process or a list of processes (got ${typeof data})`);
  }
  return substitute(data, context);
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
