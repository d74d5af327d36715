// Running something as a process runs: its user and groups (setpriv, as root only), nice, umask,
// directory and exact environment. The process itself, its initialize, its readiness command
// and the supervisor's liveness commands all go through here: a check must never run as root for
// a process that declares `user` (a service that owns its health script would get root).
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { MINIMAL_PATH } from "../model/normalize.js";
import type { Command, ResolvedProcess } from "../model/types.js";

/** procman's own helpers come from the system, not from the PATH the model gives the process. */
export function systemTool(name: string): string {
  for (const dir of MINIMAL_PATH.split(":")) {
    const file = path.join(dir, name);
    if (existsSync(file)) return file;
  }
  return name;
}

export interface UserIds {
  readonly uid: number;
  readonly gid: number;
}

const users = new Map<string, UserIds>();

/** UID and primary GID of a user name (or number), as the system's NSS has them (`id`). */
export function lookupUser(user: string): UserIds {
  const known = users.get(user);
  if (known !== undefined) return known;
  const id = (flag: string) => {
    try {
      return Number(execFileSync(systemTool("id"), [flag, "--", user], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim());
    } catch {
      throw new Error(`user ${JSON.stringify(user)} does not exist`);
    }
  };
  const ids = { uid: id("-u"), gid: id("-g") };
  users.set(user, ids);
  return ids;
}

/** Whether procman changes identity for this process (root, and the model names a user or group). */
export function changesIdentity(spec: ResolvedProcess): boolean {
  return globalThis.process.getuid?.() === 0 && (spec.user !== undefined || spec.group !== undefined);
}

/**
 * argv with the helpers Node cannot replace: nice before exec, then the identity switch. A user
 * without a group gets the user's primary group and exactly its supplementary groups
 * (initgroups), never root's.
 */
export function wrapCommand(spec: ResolvedProcess, command: Command): string[] {
  let argv = [command.executable, ...command.args];
  if (changesIdentity(spec)) {
    const ids = spec.user !== undefined ? ["--reuid", spec.user, "--init-groups"] : ["--clear-groups"];
    const group = spec.group ?? (spec.user !== undefined ? String(lookupUser(spec.user).gid) : undefined);
    argv = [systemTool("setpriv"), ...ids, ...(group !== undefined ? ["--regid", group] : []), "--", ...argv];
  }
  if (spec.nice !== undefined) argv = [systemTool("nice"), "-n", String(spec.nice), "--", ...argv];
  return argv;
}

/**
 * Runs spawn with the process's umask. The child inherits procman's umask at fork, and spawn forks
 * synchronously, so it is set just around the call and restored: no shell in between to add PWD or
 * reset IFS and OPTIND, and nothing else of procman's runs meanwhile.
 */
export function withUmask<T>(umask: string | undefined, run: () => T): T {
  if (umask === undefined) return run();
  const previous = globalThis.process.umask(Number.parseInt(umask, 8));
  try {
    return run();
  } finally {
    globalThis.process.umask(previous);
  }
}

export type CommandOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly why: string };

/**
 * Runs a shell snippet as the process runs (user, groups, nice, umask, directory, exact
 * environment), in a group of its own that is killed on timeout. For readiness and liveness
 * commands; output goes to `output` (a descriptor, e.g. the log) or nowhere.
 */
export function runShellAs(
  spec: ResolvedProcess,
  script: string,
  options: { readonly timeoutMs: number; readonly environment?: Readonly<Record<string, string>>; readonly output?: number },
): Promise<CommandOutcome> {
  const [executable, ...args] = wrapCommand(spec, { executable: "/bin/sh", args: ["-c", script] });
  const out = options.output ?? "ignore";
  return new Promise((resolve) => {
    const child = withUmask(spec.umask, () =>
      spawn(executable!, args, {
        detached: true,
        stdio: ["ignore", out, out],
        env: options.environment ?? spec.environment,
        cwd: spec.directory ?? "/",
      }),
    );
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        globalThis.process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }, options.timeoutMs);
    child.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ ok: false, why: `cannot run it: ${error.code ?? error.message}` });
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ ok: true });
      else if (timedOut) resolve({ ok: false, why: `it did not finish within ${options.timeoutMs / 1000} s` });
      else resolve({ ok: false, why: signal !== null ? `it was killed by ${signal}` : `it exited with code ${code}` });
    });
  });
}
