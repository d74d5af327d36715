// procman startup: a unit, init script or plist that brings the deployment of a state dir back after
// a reboot (`procman start --state-dir DIR` at boot), printed, written to --out, or installed with
// --install. An existing file is overwritten only when procman startup wrote it; anything else is
// refused (exit 2) and left as it is.
import { spawnSync } from "node:child_process";
import { constants, existsSync } from "node:fs";
import { chmod, lstat, open, rename, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Option, type Command } from "commander";
import { shQuote } from "../../../generators/quote.js";
import { GeneratorError } from "../../../generators/types.js";
import { ProcmanError } from "../../errors.js";
import { findExecutable } from "../../executor/executable.js";
import { StateDir } from "../../executor/state-dir.js";
import { parsePath, resolveStateDir, stateDirOption } from "../options.js";
import type { Output } from "../output.js";
import { makeDirectories } from "../../executor/atomic.js";

interface StartupCliOptions {
  processManager: "systemd" | "sysvinit" | "launchd";
  stateDir?: string;
  prefix?: string;
  out?: string;
  install?: boolean;
  root?: string;
}

/** An existing file larger than this is not one procman startup wrote. */
const MAX_EXISTING = 1024 * 1024;

export function registerStartup(program: Command, io: Output): void {
  program
    .command("startup")
    .description("write (with --install, install) a systemd unit, init script or launchd plist that brings the deployment back after a reboot")
    .addOption(new Option("-P, --process-manager <manager>", "the boot manager to write for").choices(["systemd", "sysvinit", "launchd"]).makeOptionMandatory())
    .addOption(stateDirOption())
    .option("--prefix <prefix>", "namespace of the name: P-startup.service, P-startup, org.P.startup (default: procman)")
    .option("--out <dir>", "write the file into this directory (default: print it on stdout); install steps go to stderr", parsePath)
    .option("--install", "install it: as root into /etc/systemd/system (and systemctl enable), /etc/init.d (and update-rc.d) or /Library/LaunchDaemons; as a user, a systemd user unit or a launchd agent")
    .option("--root <dir>", "for tests and images: install under this directory instead of / (or the home directory); nothing is enabled but systemd's links (systemctl --root)", parsePath)
    .addHelpText(
      "after",
      [
        "",
        "At boot it runs `<node> <procman> start --state-dir DIR` (the current generation again, its supervisor too),",
        "with an explicit PATH; systemd and sysvinit also run `procman stop --state-dir DIR` at shutdown.",
        "Examples:",
        "  procman startup -P systemd --state-dir /srv/app/state --install",
        "  procman startup -P sysvinit --out .",
        "",
      ].join("\n"),
    )
    .action(async (options: StartupCliOptions) => {
      const { generateStartup } = await import("../../../generators/startup.js");
      const stateDir = resolveStateDir(options.stateDir);
      const asRoot = (process.getuid?.() ?? 0) === 0;
      if (options.root !== undefined && options.install !== true) throw new ProcmanError("EUSAGE", "--root is for --install only", 2);
      if (options.out !== undefined && options.install === true) throw new ProcmanError("EUSAGE", "--out and --install exclude each other: --install writes where the boot manager reads", 2);
      if (options.processManager === "sysvinit" && !asRoot && options.install === true) {
        throw new ProcmanError("EUSAGE", "sysvinit: an init script is installed by root only (run procman startup --install as root, or without --install to print it)", 2);
      }
      // A user's own manager (systemd --user, launchd agents); an init script is always the system's.
      const userInstall = !asRoot && options.processManager !== "sysvinit";
      let generated;
      try {
        generated = generateStartup({
          manager: options.processManager,
          node: process.execPath,
          bin: builtCli(),
          stateDir,
          user: userInstall,
          ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
        });
      } catch (error) {
        if (error instanceof GeneratorError) throw new ProcmanError(error.code, error.message, error.exitCode);
        throw error;
      }
      warnIfNothingDeployed(stateDir, io);

      if (options.install !== true) {
        if (options.out === undefined) io.out(generated.file.contents);
        else {
          const target = path.join(path.resolve(options.out), generated.file.path);
          await writeOwned(target, generated.file.contents, generated.file.mode);
          io.out(`wrote ${target}\n`);
        }
        const installed = path.join(userInstall ? os.homedir() : "/", generated.installDir, generated.file.path);
        const again = ["procman", "startup", "-P", options.processManager, "--state-dir", stateDir, ...(options.prefix !== undefined ? ["--prefix", options.prefix] : [])].map(shellWord).join(" ");
        const source = options.out === undefined ? `the file above (${again} > ${shellWord(generated.file.path)})` : path.join(path.resolve(options.out), generated.file.path);
        io.err(`install steps (or run again with --install):\n${[`copy ${source} to ${installed}`, ...enableSteps(options.processManager, generated.name, installed, asRoot)].map((step, index) => `  ${index + 1}. ${step}\n`).join("")}`);
        return;
      }

      const root = options.root !== undefined ? path.resolve(options.root) : userInstall ? os.homedir() : "/";
      const target = path.join(root, generated.installDir, generated.file.path);
      const changed = await writeOwned(target, generated.file.contents, generated.file.mode);
      io.out(`${changed ? "installed" : "already installed, unchanged:"} ${target}\n`);
      const left = enable(options.processManager, generated.name, target, { asRoot, root: options.root !== undefined ? root : undefined, io });
      if (left.length > 0) io.err(`still to do:\n${left.map((step, index) => `  ${index + 1}. ${step}\n`).join("")}`);
    });
}

/** Defined (true) by scripts/bundle.mjs. */
declare const PROCMAN_BUNDLED: boolean | undefined;

/**
 * The running procman's built CLI: from the bundle its bin.js beside this file (dist/bundle/cli.js),
 * else dist/src/cli/bin.js beside this module once built, or, when this runs from the TypeScript
 * sources (tests), the one in dist of the same checkout, which must exist.
 */
function builtCli(): string {
  const here = fileURLToPath(import.meta.url);
  if (typeof PROCMAN_BUNDLED !== "undefined" && PROCMAN_BUNDLED) return path.join(path.dirname(here), "bin.js");
  const beside = path.resolve(path.dirname(here), "..", "bin.js");
  if (here.endsWith(".js")) return beside;
  const root = path.resolve(path.dirname(here), "..", "..", "..");
  const built = path.join(root, "dist", "src", "cli", "bin.js");
  if (!existsSync(built)) throw new ProcmanError("ENOBUILD", `procman's built CLI ${built} is missing: the boot unit must run it (build with \`npx tsc -p .\`)`, 1);
  return built;
}

/**
 * A state dir another user could change is refused here (exit 2), as procman start would refuse it
 * at boot: root would otherwise run that user's model. Nothing deployed yet is only a warning: the
 * unit may well be installed before the first switch.
 */
function warnIfNothingDeployed(stateDir: string, io: Output): void {
  // A state dir another user could change is refused (exit 2), also one not made yet: what is
  // installed now would run procman on it at every boot.
  new StateDir(stateDir).checkTrust();
  if (!existsSync(stateDir)) {
    io.err(`procman: warning: ${stateDir} does not exist yet: at boot, procman start fails until a switch deploys something there\n`);
    return;
  }
  const current = new StateDir(stateDir).inspectCurrent();
  if (current.kind === "absent") io.err(`procman: warning: nothing is deployed in ${stateDir} yet: at boot, procman start fails until a switch deploys something there\n`);
  else if (current.kind === "damaged") io.err(`procman: warning: ${current.damaged.file}: ${current.damaged.problem}\n`);
}

/**
 * Writes `contents` to `target` (write, fsync, rename) unless a file procman startup did not write
 * is there: that is refused (exit 2), naming it. Returns false when it already held `contents`.
 */
async function writeOwned(target: string, contents: string, mode: number): Promise<boolean> {
  let existing: import("node:fs").Stats | undefined;
  try {
    existing = await lstat(target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  if (existing !== undefined) {
    if (!existing.isFile()) throw new ProcmanError("EEXIST", `${target} exists and is not a regular file procman startup wrote; left alone (remove it first if it is not needed)`, 2);
    if (existing.size > MAX_EXISTING) throw new ProcmanError("EEXIST", `${target} exists and was not written by procman startup; left alone`, 2);
    // O_NOFOLLOW: it was a plain file a moment ago; a link swapped in meanwhile is not read through.
    const handle = await open(target, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    let text: string;
    try {
      text = (await handle.readFile()).toString("utf8");
    } finally {
      await handle.close();
    }
    if (text === contents && (existing.mode & 0o7777) === mode) return false;
    const { STARTUP_MARKER } = await import("../../../generators/startup.js");
    if (!text.includes(STARTUP_MARKER)) {
      throw new ProcmanError("EEXIST", `${target} exists and was not written by procman startup (no "${STARTUP_MARKER}" line); left alone — remove or rename it, or choose another --prefix`, 2);
    }
  }
  makeDirectories(path.dirname(target));
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.tmp`);
  const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode & 0o600);
  try {
    await handle.writeFile(contents);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  await chmod(temp, mode);
  await rename(temp, target);
  return true;
}

/** The enable steps for someone installing by hand. */
function enableSteps(manager: StartupCliOptions["processManager"], name: string, installed: string, asRoot: boolean): string[] {
  switch (manager) {
    case "systemd":
      return asRoot
        ? [`systemctl enable ${name} (runs at the next boot; \`systemctl start ${name}\` now makes shutdown run procman stop)`]
        : [`systemctl --user enable ${name}`, `loginctl enable-linger ${os.userInfo().username} (a user manager starts at boot only with lingering)`];
    case "sysvinit":
      return [`update-rc.d ${name} defaults (or chkconfig --add ${name}, or the rc.d links your init uses)`];
    case "launchd":
      return [`nothing else for the next boot; to run it now: launchctl bootstrap ${asRoot ? "system" : "gui/$(id -u)"} ${installed}`];
  }
}

/** Enables what was installed where a tool does it; returns the steps left to the operator. */
function enable(
  manager: StartupCliOptions["processManager"],
  name: string,
  target: string,
  context: { asRoot: boolean; root: string | undefined; io: Output },
): string[] {
  const steps = enableSteps(manager, name, target, context.asRoot);
  if (manager === "launchd") return steps;
  if (manager === "systemd") {
    // Under --root, systemctl only makes the [Install] links in that tree (no manager is asked).
    if (!context.asRoot && context.root !== undefined) return steps;
    const args = [...(context.asRoot ? [] : ["--user"]), ...(context.root !== undefined ? [`--root=${context.root}`] : []), "enable", name];
    runTool("systemctl", args, context.io);
    return context.asRoot ? [`systemctl start ${name} now if shutdown should run procman stop before the next boot`] : steps.slice(1);
  }
  // sysvinit: update-rc.d writes the real /etc/rc?.d links; never under --root.
  if (context.root !== undefined || findExecutable("update-rc.d") === undefined) return steps;
  runTool("update-rc.d", [name, "defaults"], context.io);
  return [];
}

function runTool(tool: string, args: readonly string[], io: Output): void {
  const executable = findExecutable(tool);
  if (executable === undefined) throw new ProcmanError("ENOTOOL", `${tool} is not on PATH: the file is installed, but run \`${tool} ${args.join(" ")}\` yourself`, 1);
  const result = spawnSync(executable, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (result.stdout !== "") io.err(result.stdout);
  if (result.stderr !== "") io.err(result.stderr);
  if (result.status !== 0) throw new ProcmanError("EENABLE", `${tool} ${args.join(" ")} failed (${result.status ?? result.signal}); the file is installed, run it again once fixed`, 1);
}

/** A word for a command line the operator copies: quoted only where sh needs it. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_/.,:=+@%-]+$/.test(word) ? word : shQuote(word);
}

