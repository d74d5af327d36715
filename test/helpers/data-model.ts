// A data model's parse error, for the loader tests: parseDataModel must reject with a LoadError.
import * as assert from "uvu/assert";
import { LoadError } from "../../src/errors.js";
import { parseDataModel } from "../../src/loader/data-model.js";
import { createContext } from "../../src/model/context.js";

export const CONTEXT = createContext({ stateDir: "/srv/st", modelDir: "/srv/model" });

export async function parseError(text: string, file = "m.yaml"): Promise<LoadError> {
  try {
    await parseDataModel(text, file, CONTEXT);
  } catch (error) {
    if (error instanceof LoadError) return error;
    throw error;
  }
  assert.unreachable("parsed");
  throw new Error("unreachable");
}
