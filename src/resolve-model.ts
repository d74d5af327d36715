// load → normalize and validate → graph check: a model file becomes a resolved, acyclic model, or
// a ModelError / LoadError listing every problem. Nothing here touches processes.
import path from "node:path";
import { LoadError, ModelError } from "./errors.js";
import { cycleIssues } from "./graph/graph.js";
import { loadModel } from "./loader/load-model.js";
import { createContext, type ContextOptions } from "./model/context.js";
import { normalizeModel, type NormalizeOptions } from "./model/normalize.js";
import type { ProcessContext, ResolvedModel } from "./model/types.js";

export type ResolveOptions = Omit<ContextOptions, "modelDir"> & {
  /** Seconds (`--load-timeout`); see loader/load-guard. */
  readonly loadTimeout?: number;
};

export async function resolveModelFile(file: string, options: ResolveOptions): Promise<ResolvedModel> {
  const { loadTimeout, ...contextOptions } = options;
  const context = createContext({ ...contextOptions, modelDir: path.dirname(path.resolve(file)) });
  const loaded = await loadModel(file, context, loadTimeout !== undefined ? { timeoutSeconds: loadTimeout } : {});
  // As an empty file is: a model file that declares nothing is a mistake, not "stop everything"
  // (a switch to it would stop every process deployed; procman stop says that on purpose).
  if (declaresNothing(loaded.exported)) throw new LoadError(file, "the model is empty: it declares no processes (to stop everything deployed, run procman stop)");
  return resolveModel(loaded.exported, context, { nameMustMatchKey: loaded.kind === "data" }, file);
}

/** For a model already in memory (an object, a list); throws ModelError with every issue. */
export function resolveModel(exported: unknown, context: ProcessContext, options: NormalizeOptions, file?: string): ResolvedModel {
  const result = normalizeModel(exported, context, options);
  const issues = [...result.issues, ...cycleIssues(result.edges)];
  if (issues.length > 0 || result.model === undefined) throw new ModelError(issues, file);
  return result.model;
}

function declaresNothing(exported: unknown): boolean {
  if (Array.isArray(exported)) return exported.length === 0;
  return exported !== null && typeof exported === "object" && Object.getPrototypeOf(exported) === Object.prototype && Object.keys(exported).length === 0;
}
