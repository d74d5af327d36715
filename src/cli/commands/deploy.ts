// switch, stop and rollback: the commands that change what runs.
import path from "node:path";
import { Option, type Command } from "commander";
import { ProcmanError } from "../../errors.js";
import { changeProcesses, DEFAULT_PREFIX, reactivateDeployment, reloadProcesses, rollbackDeployment, stopDeployment, switchDeployment } from "../../executor/deployment.js";
import type { ResolvedModel } from "../../model/types.js";
import type { ResolveOptions } from "../../resolve-model.js";
import { forceDisableUserChangeOption, loadTimeoutOption, jsonOption, lockWaitSeconds, parsePath, processManagerOption, resolveOptions, resolveStateDir, stateDirOption, type CommonOptions } from "../options.js";
import type { Output } from "../output.js";
import { eventRenderer } from "../render.js";

interface DeployOptions extends CommonOptions {
  dryRun?: boolean;
  lockTimeout: string;
}

const lockTimeoutOption = () =>
  new Option("--lock-timeout <seconds>", "how long to wait for another procman working on the state dir (then exit 3)")
    .env("PROCMAN_LOCK_TIMEOUT")
    .default("60");

/** The loader, normalize and validation only for the command that loads a model (not stop, start, rollback). */
async function resolveModelFile(file: string, options: ResolveOptions): Promise<ResolvedModel> {
  return (await import("../../resolve-model.js")).resolveModelFile(file, options);
}

function lockWait(options: DeployOptions): number {
  return lockWaitSeconds(options.lockTimeout);
}

export function registerDeploy(program: Command, io: Output): void {
  program
    .command("switch")
    .description("move this machine to what the model declares: stop, start and restart only what changed; undo on failure")
    .argument("<model>", "processes model: .ts, .mts, .js, .mjs, .json, .yaml or .yml")
    .addOption(processManagerOption())
    .addOption(stateDirOption())
    .addOption(forceDisableUserChangeOption())
    .option("--dry-run", "print the plan (what stops, starts, stays, and why) and change nothing")
    .addOption(jsonOption())
    .addOption(lockTimeoutOption())
    .option("--install-dir <dir>", "other managers: install the generated files here (e.g. ~/.config/systemd/user) instead of under the state dir", parsePath)
    .option("--prefix <prefix>", "other managers: namespace of the generated names (P-<name>.service, org.P.<name>, group P)", DEFAULT_PREFIX)
    .option("--no-supervise", "direct: no supervisor (nothing is restarted or checked until the next switch without this flag)")
    .addOption(loadTimeoutOption())
    .action(async (file: string, options: DeployOptions & { installDir?: string; prefix: string; supervise: boolean }) => {
      const wait = lockWait(options);
      checkPrefix(options.prefix);
      const model = await resolveModelFile(file, resolveOptions(options));
      const onEvent = eventRenderer(io, { json: options.json === true, dryRun: options.dryRun === true });
      await switchDeployment({
        model,
        modelFile: file,
        dryRun: options.dryRun === true,
        lockWait: wait,
        onEvent,
        processManager: options.processManager ?? "direct",
        prefix: options.prefix,
        ...(options.supervise === false ? { supervise: false } : {}),
        ...(options.installDir !== undefined ? { installDir: path.resolve(options.installDir) } : {}),
        onWarning: (message) => io.err(`procman: warning: ${message}\n`),
      });
    });

  program
    .command("stop")
    .description("stop everything deployed, dependents first (the generation is kept: switch or rollback starts it again); with names, only those and what depends on them")
    .argument("[names...]", "processes of what is deployed (their running dependents stop first)")
    .addOption(stateDirOption())
    .addOption(jsonOption())
    .addOption(lockTimeoutOption())
    .action(async (names: string[], options: DeployOptions) => {
      const onEvent = eventRenderer(io, { json: options.json === true });
      const stateDir = resolveStateDir(options.stateDir);
      const nothingDeployed = () => io.err(`procman: nothing is deployed in ${stateDir} (no lib/procman there); nothing stopped, nothing made\n`);
      if (names.length === 0) await stopDeployment(stateDir, lockWait(options), onEvent, { nothingDeployed });
      else await changeProcesses({ stateDir, lockWait: lockWait(options), onEvent, change: { kind: "stop", names } });
    });

  for (const [kind, description] of [
    ["start", "start processes of what is deployed, after those of their dependencies that are not running; with no names, the whole current generation again (after stop, or at boot)"],
    ["restart", "restart processes of what is deployed, with their transitive dependents (like a change)"],
  ] as const) {
    program
      .command(kind)
      .description(description)
      .argument(kind === "start" ? "[names...]" : "<names...>", "processes of what is deployed")
      .addOption(stateDirOption())
      .addOption(jsonOption())
      .addOption(lockTimeoutOption())
      .action(async (names: string[], options: DeployOptions) => {
        const onEvent = eventRenderer(io, { json: options.json === true });
        const stateDir = resolveStateDir(options.stateDir);
        if (names.length === 0) await reactivateDeployment({ stateDir, lockWait: lockWait(options), onEvent });
        else await changeProcesses({ stateDir, lockWait: lockWait(options), onEvent, change: { kind, names } });
      });
  }

  program
    .command("reload")
    .description("send processes of what is deployed their stop.reloadSignal (default SIGHUP); nothing is restarted")
    .argument("<names...>", "processes of what is deployed")
    .addOption(stateDirOption())
    .addOption(lockTimeoutOption())
    .action(async (names: string[], options: DeployOptions) => {
      const sent = await reloadProcesses({ stateDir: resolveStateDir(options.stateDir), lockWait: lockWait(options), names });
      for (const { name, signal } of sent) io.out(`sent ${signal} to ${name}\n`);
    });

  program
    .command("rollback")
    .description("switch back to the generation before the current one, or to --to N (recorded as a new generation)")
    .addOption(stateDirOption())
    .addOption(jsonOption())
    .addOption(lockTimeoutOption())
    .option("--to <generation>", "the generation to go back to")
    .option("--dry-run", "print the plan and change nothing")
    .action(async (options: DeployOptions & { to?: string }) => {
      const to = options.to === undefined ? undefined : Number(options.to);
      if (to !== undefined && (!Number.isInteger(to) || to < 1)) throw new ProcmanError("EUSAGE", `--to must be a generation number (got ${JSON.stringify(options.to)})`, 2);
      const onEvent = eventRenderer(io, { json: options.json === true, dryRun: options.dryRun === true });
      await rollbackDeployment({
        stateDir: resolveStateDir(options.stateDir),
        lockWait: lockWait(options),
        dryRun: options.dryRun === true,
        onEvent,
        ...(to !== undefined ? { to } : {}),
        onTarget: (target, from) => {
          if (options.json !== true) io.out(`rolling back to generation ${target} (from ${from})\n`);
        },
        onWarning: (message) => io.err(`procman: warning: ${message}\n`),
      });
    });
}

function checkPrefix(prefix: string): void {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(prefix)) {
    throw new ProcmanError("EUSAGE", `--prefix must be letters, digits, "_", "." or "-" and not start with "." or "-" (got ${JSON.stringify(prefix)})`, 2);
  }
}
