// Identity helpers that exist for their types: a model written with them is checked by tsc.
import type { ManagedProcessInput, ProcessesModelInput } from "./types.js";

/** Declares one managed process. Pass the result (or its name) to another's `activatesAfter`. */
export function createManagedProcess<const T extends ManagedProcessInput>(definition: T): T {
  return definition;
}

/** Declares the whole model: a mapping, an array, or a function of the context returning one. */
export function defineProcesses<const T extends ProcessesModelInput>(model: T): T {
  return model;
}
