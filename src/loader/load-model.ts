// Finds and evaluates the user's model: the only place user code runs. Returns what the file
// exports (a function of the context already called); shape checks are normalization's job.
import { stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { LoadError } from "../errors.js";
import type { ProcessContext } from "../model/types.js";
import { UnsafeFileError, readWholeFile } from "../executor/safe-file.js";
import { DEFAULT_LOAD_TIMEOUT_SECONDS, guardLoad } from "./load-guard.js";
import { snapshotExport } from "./snapshot.js";

export const MODULE_EXTENSIONS = [".ts", ".mts", ".js", ".mjs"] as const;
export const DATA_EXTENSIONS = [".json", ".yaml", ".yml"] as const;
/** A YAML or JSON model larger than this is not a model. */
const MAX_DATA_MODEL = 16 * 1024 * 1024;

export interface LoadedModel {
  readonly file: string;
  /** Modules key processes by variable names; data files by process names (so a name must equal its key). */
  readonly kind: "module" | "data";
  readonly exported: unknown;
}

export interface LoadOptions {
  /** Seconds a module may take to settle while it keeps work scheduled (`--load-timeout`). */
  readonly timeoutSeconds?: number;
}

export async function loadModel(file: string, context: ProcessContext, options: LoadOptions = {}): Promise<LoadedModel> {
  const absolute = path.resolve(file);
  const extension = path.extname(absolute).toLowerCase();
  const known = [...MODULE_EXTENSIONS, ...DATA_EXTENSIONS] as readonly string[];
  const info = await stat(absolute).catch((error: NodeJS.ErrnoException) => error);
  if (info instanceof Error) {
    if (info.code === "ENOENT" || info.code === "ENOTDIR") {
      if (!known.includes(extension)) throw unsupported(file, extension, known);
      throw new LoadError(file, "no such file");
    }
    throw new LoadError(file, `cannot read it: ${info.message}`, { cause: info });
  }
  if (info.isDirectory()) {
    const inside = await findModelIn(absolute);
    throw new LoadError(file, `is a directory; give the model file${inside !== undefined ? ` (${path.join(file, inside)}?)` : ` (${known.join(", ")})`}`);
  }
  if (!known.includes(extension)) throw unsupported(file, extension, known);
  if (!info.isFile()) throw new LoadError(file, "not a regular file");

  if ((DATA_EXTENSIONS as readonly string[]).includes(extension)) {
    const text = readDataFile(absolute, file);
    const { parseDataModel } = await import("./data-model.js");
    return { file: absolute, kind: "data", exported: await parseDataModel(text, file, context) };
  }
  const exported = await guardLoad(file, options.timeoutSeconds ?? DEFAULT_LOAD_TIMEOUT_SECONDS, async () => {
    const module = await importModule(absolute, file);
    return typeof module === "function" ? await callModel(module, context, absolute, file) : module;
  });
  return { file: absolute, kind: "module", exported: snapshotExport(exported, file) };
}

/** A model may sit where others write: read it without following a swapped-in FIFO or device, within a bound. */
function readDataFile(absolute: string, file: string): string {
  try {
    const bytes = readWholeFile(absolute, MAX_DATA_MODEL);
    if (bytes === undefined) throw new LoadError(file, "no such file");
    return bytes.toString("utf8");
  } catch (error) {
    if (error instanceof LoadError) throw error;
    if (error instanceof UnsafeFileError) throw new LoadError(file, error.why);
    throw new LoadError(file, `cannot read it: ${(error as Error).message}`, { cause: error });
  }
}

function unsupported(file: string, extension: string, known: readonly string[]): LoadError {
  return new LoadError(file, `unsupported model file type "${extension || "(none)"}"; use one of ${known.join(", ")}`);
}

/** The usual model file inside a directory, to suggest it. */
async function findModelIn(dir: string): Promise<string | undefined> {
  for (const extension of [...MODULE_EXTENSIONS, ...DATA_EXTENSIONS]) {
    const name = `processes${extension}`;
    if ((await stat(path.join(dir, name)).catch(() => undefined))?.isFile() === true) return name;
  }
  return undefined;
}

/** Defined (true) by scripts/bundle.mjs: every bundled module sits in dist/bundle beside index.js. */
declare const PROCMAN_BUNDLED: boolean | undefined;

/** The running procman's own entry, so that `import ... from "procman"` works from anywhere on disk. */
function selfEntry(): string {
  const here = fileURLToPath(import.meta.url);
  if (typeof PROCMAN_BUNDLED !== "undefined" && PROCMAN_BUNDLED) return path.join(path.dirname(here), "index.js");
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

const STACK_OVERFLOW = /Maximum call stack size exceeded/;

/** Names the file and line: from a parse error's location, or the first stack frame in the model. */
function evaluationError(error: unknown, absolute: string, file: string, what: string): LoadError {
  const message = error instanceof Error ? error.message : String(error);
  const parse = /^(?:\w*Error: )?(.*?)\s*\n?\s*(\/[^\n]*?):(\d+):(\d+)\s*$/s.exec(message);
  if (parse !== null && path.resolve(parse[2]!) === absolute) {
    // The transform recurses per level of nesting, and then names no place (line 0, "undefined").
    if (STACK_OVERFLOW.test(parse[1]!)) return new LoadError(file, `syntax error: nested too deeply to parse (${STACK_OVERFLOW.source})`, { cause: error });
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
  // jiti runs a module inside a function wrapper that starts on its first line: a column there is
  // shifted by the wrapper (and whatever the transform put before the code), so only the line is told.
  const line = frame !== null ? Number(frame[1]) : undefined;
  return new LoadError(file, `${kind}: ${message}`, {
    ...(line !== undefined ? { line, ...(line > 1 ? { column: Number(frame![2]) } : {}) } : {}),
    cause: error,
  });
}
