// Shared context and shortcuts for model tests: resolve an in-memory model, or collect its issues
// as the one-line texts the CLI prints ("process: field: message").
import * as assert from "uvu/assert";
import { ModelError, formatIssue } from "../../src/errors.js";
import { createContext } from "../../src/model/context.js";
import type { NormalizeOptions } from "../../src/model/normalize.js";
import type { ProcessContext, ResolvedModel } from "../../src/model/types.js";
import { resolveModel } from "../../src/resolve-model.js";

export const STATE_DIR = "/srv/procman-state";
export const MODEL_DIR = "/srv/models/app";
export const CONTEXT: ProcessContext = createContext({ stateDir: STATE_DIR, modelDir: MODEL_DIR });

/** TS/JS modules: keys are variable names. */
export const MODULE: NormalizeOptions = { nameMustMatchKey: false };
/** YAML/JSON: a name given must equal its key. */
export const DATA: NormalizeOptions = { nameMustMatchKey: true };

export function resolve(model: unknown, options: NormalizeOptions = MODULE, context: ProcessContext = CONTEXT): ResolvedModel {
  return resolveModel(model, context, options);
}

/** The ModelError that resolving `model` must throw. */
export function modelError(model: unknown, options: NormalizeOptions = MODULE, context: ProcessContext = CONTEXT): ModelError {
  try {
    resolveModel(model, context, options);
  } catch (error) {
    if (error instanceof ModelError) return error;
    throw error;
  }
  assert.unreachable("the model resolved, but it should have been rejected");
  throw new Error("unreachable");
}

/** Every issue of an invalid model, formatted as the CLI prints it. */
export function problems(model: unknown, options: NormalizeOptions = MODULE, context: ProcessContext = CONTEXT): string[] {
  return modelError(model, options, context).issues.map(formatIssue);
}

/** A valid process body with nothing but an executable, to add one field to. */
export const ok = (fields: Record<string, unknown> = {}): Record<string, unknown> => ({ process: "/bin/true", ...fields });
