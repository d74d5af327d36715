// The public API: what `import ... from "procman"` gives a model file and a program.
export { createManagedProcess, defineProcesses } from "./model/define.js";
export type * from "./model/types.js";
export { PROCESS_MANAGERS, RESTART_POLICIES } from "./model/types.js";
