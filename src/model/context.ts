// Directories derived from the state dir, as in the Nix process management framework.
import path from "node:path";
import type { ProcessContext, ProcessManagerName } from "./types.js";

export interface ContextOptions {
  /** Absolute; see defaultStateDir for the usual choice. */
  readonly stateDir: string;
  readonly forceDisableUserChange?: boolean;
  readonly processManager?: ProcessManagerName;
  readonly modelDir: string;
}

export function createContext(options: ContextOptions): ProcessContext {
  const stateDir = path.resolve(options.stateDir);
  return Object.freeze({
    stateDir,
    runtimeDir: path.join(stateDir, "run"),
    logDir: path.join(stateDir, "log"),
    cacheDir: path.join(stateDir, "cache"),
    tmpDir: stateDir === "/var" ? "/tmp" : path.join(stateDir, "tmp"),
    forceDisableUserChange: options.forceDisableUserChange ?? false,
    processManager: options.processManager ?? "direct",
    modelDir: path.resolve(options.modelDir),
  });
}

/** `/var` for root, else `$XDG_STATE_HOME/procman` (`~/.local/state/procman`). */
export function defaultStateDir(env: Readonly<Record<string, string | undefined>>, uid: number, home: string): string {
  if (uid === 0) return "/var";
  const xdg = env.XDG_STATE_HOME;
  const base = xdg !== undefined && path.isAbsolute(xdg) ? xdg : path.join(home, ".local", "state");
  return path.join(base, "procman");
}
