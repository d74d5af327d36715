import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (test/helpers/../..). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const FIXTURES = path.join(ROOT, "test", "fixtures");
export const EXAMPLES = path.join(ROOT, "examples");
export const fixture = (...parts: string[]) => path.join(FIXTURES, ...parts);
