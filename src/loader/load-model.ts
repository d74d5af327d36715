// Finds and evaluates the user's model: the only place user code runs. Returns what the file
// exports (a function of the context already called); shape checks are normalization's job.
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { LoadError } from "../errors.js";
import type { ProcessContext } from "../model/types.js";

export const MODULE_EXTENSIONS = [".ts", ".mts", ".js", ".mjs"] as const;
export const DATA_EXTENSIONS = [".json", ".yaml", ".yml"] as const;

export interface LoadedModel {
  readonly file: string;
  /** Modules key processes by variable names; data files by process names (so a name must equal its key). */
  readonly kind: "module" | "data";
  readonly exported: unknown;
}

export async function loadModel(file: string, context: ProcessContext): Promise<LoadedModel> {
  const absolute = path.resolve(file);
  const extension = path.extname(absolute).toLowerCase();
  const known = [...MODULE_EXTENSIONS, ...DATA_EXTENSIONS] as readonly string[];
  if (!known.includes(extension)) {
    throw new LoadError(file, `unsupported model file type "${extension || "(none)"}"; use one of ${known.join(", ")}`);
  }
  const info = await stat(absolute).catch(() => undefined);
  if (info === undefined) throw new LoadError(file, "no such file");
  if (!info.isFile()) throw new LoadError(file, "not a regular file");

  if ((DATA_EXTENSIONS as readonly string[]).includes(extension)) {
    const text = await readFile(absolute, "utf8");
    const { parseDataModel } = await import("./data-model.js"); // yaml only for data files
    return { file: absolute, kind: "data", exported: parseDataModel(text, file, context) };
  }
  const module = await importModule(absolute, file);
  const exported = typeof module === "function" ? await callModel(module, context, absolute, file) : module;
  return { file: absolute, kind: "module", exported };
}

/** The running procman's own entry, so that `import ... from "procman"` works from anywhere on disk. */
function selfEntry(): string {
  const here = fileURLToPath(import.meta.url);
  return path.join(path.dirname(here), "..", `index${path.extname(here)}`);
}

async function importModule(absolute: string, file: string): Promise<unknown> {
  const { createJiti } = await import("jiti"); // only for modules: it costs a JSON model time
  const jiti = createJiti(import.meta.url, {
    alias: { procman: selfEntry() },
    moduleCache: false,
    fsCache: false,
    // Not true: jiti's interop then fails on `export default null` with an unrelated TypeError
    // ("Cannot read properties of null (reading 'then')"). The namespace's `default` is used below.
    interopDefault: false,
  });
  let namespace: Record<string, unknown>;
  try {
    namespace = (await jiti.import(absolute)) as Record<string, unknown>;
  } catch (error) {
    throw evaluationError(error, absolute, file, "the model failed to load");
  }
  if (namespace === null || typeof namespace !== "object" || !("default" in namespace) || namespace.default === undefined) {
    throw new LoadError(file, "the model has no default export; export default a mapping, a list or a function of the context");
  }
  return namespace.default;
}

async function callModel(model: Function, context: ProcessContext, absolute: string, file: string): Promise<unknown> {
  try {
    return await model(context);
  } catch (error) {
    throw evaluationError(error, absolute, file, "the model function threw");
  }
}

/** Names the file and line: from a parse error's location, or the first stack frame in the model. */
function evaluationError(error: unknown, absolute: string, file: string, what: string): LoadError {
  const message = error instanceof Error ? error.message : String(error);
  const parse = /^(?:\w*Error: )?(.*?)\s*\n?\s*(\/[^\n]*?):(\d+):(\d+)\s*$/s.exec(message);
  if (parse !== null && path.resolve(parse[2]!) === absolute) {
    return new LoadError(file, `syntax error: ${parse[1]!.replace(/^ParseError:\s*/, "").trim()}`, {
      line: Number(parse[3]),
      column: Number(parse[4]),
      cause: error,
    });
  }
  const stack = error instanceof Error ? (error.stack ?? "") : "";
  const escaped = absolute.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const frame = new RegExp(`(?:file://)?${escaped}:(\\d+):(\\d+)`).exec(stack);
  const kind = error instanceof SyntaxError ? "syntax error" : what;
  return new LoadError(file, `${kind}: ${message}`, {
    ...(frame !== null ? { line: Number(frame[1]), column: Number(frame[2]) } : {}),
    cause: error,
  });
}
