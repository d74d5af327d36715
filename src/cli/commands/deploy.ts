// switch, stop and rollback: the commands that change what runs.
import path from "node:path";
import { Option, type Command } from "commander";
import { ProcmanError } from "../../errors.js";
import { stopDeployment, switchDeployment } from "../../executor/deployment.js";
import { StateDir } from "../../executor/state-dir.js";
import { resolveModelFile } from "../../resolve-model.js";
import { forceDisableUserChangeOption, jsonOption, processManagerOption, resolveOptions, resolveStateDir, stateDirOption, type CommonOptions } from "../options.js";
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

function lockWait(options: DeployOptions): number {
  const seconds = Number(options.lockTimeout);
  if (!Number.isFinite(seconds) || seconds < 0) throw new ProcmanError("EUSAGE", `--lock-timeout must be a number of seconds (got ${JSON.stringify(options.lockTimeout)})`, 2);
  return seconds;
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
    .option("--install-dir <dir>", "other managers: install the generated files here (e.g. ~/.config/systemd/user) instead of under the state dir")
    .action(async (file: string, options: DeployOptions & { installDir?: string }) => {
      const wait = lockWait(options);
      const model = await resolveModelFile(file, resolveOptions(options));
      const onEvent = eventRenderer(io, { json: options.json === true, dryRun: options.dryRun === true });
      const common = { model, modelFile: file, dryRun: options.dryRun === true, lockWait: wait, onEvent };
      const manager = options.processManager ?? "direct";
      if (manager === "direct") await switchDeployment(common);
      else {
        const { switchManaged } = await import("../../executor/managed/deploy.js");
        await switchManaged({
          ...common,
          manager,
          ...(options.installDir !== undefined ? { dir: path.resolve(options.installDir) } : {}),
          onWarning: (message) => io.err(`procman: warning: ${message}\n`),
        });
      }
    });

  program
    .command("stop")
    .description("stop everything deployed, dependents first (the generation is kept: switch or rollback starts it again)")
    .addOption(stateDirOption())
    .addOption(jsonOption())
    .addOption(lockTimeoutOption())
    .action(async (options: DeployOptions) => {
      await stopDeployment(resolveStateDir(options.stateDir), lockWait(options), eventRenderer(io, { json: options.json === true }));
    });

  program
    .command("rollback")
    .description("switch back to the generation before the current one (recorded as a new generation)")
    .addOption(stateDirOption())
    .addOption(jsonOption())
    .addOption(lockTimeoutOption())
    .option("--dry-run", "print the plan and change nothing")
    .action(async (options: DeployOptions) => {
      const state = new StateDir(resolveStateDir(options.stateDir));
      const current = state.readCurrent();
      // Like Nix: each rollback goes one further back; a generation made by rollback counts as the
      // one it brought back, so two rollbacks do not toggle between two generations.
      const base = current === undefined ? undefined : (state.readGeneration(current.generation).rollbackOf ?? current.generation);
      const target = base === undefined ? undefined : state.listGenerations().filter((generation) => generation < base).at(-1);
      if (current === undefined || target === undefined) {
        const why = current === undefined ? "nothing deployed" : `generation ${base} is the first`;
        throw new ProcmanError("ENOGEN", `nothing to roll back to in ${state.stateDir}: ${why}`, 2);
      }
      const record = state.readGeneration(target);
      if (options.json !== true) io.out(`rolling back to generation ${target} (from ${current.generation})\n`);
      const onEvent = eventRenderer(io, { json: options.json === true, dryRun: options.dryRun === true });
      const common = {
        model: record.model,
        ...(record.modelFile !== undefined ? { modelFile: record.modelFile } : {}),
        dryRun: options.dryRun === true,
        lockWait: lockWait(options),
        rollbackOf: target,
        onEvent,
      };
      if (record.processManager === "direct") await switchDeployment(common);
      else await (await import("../../executor/managed/deploy.js")).switchManaged({ ...common, manager: record.processManager, onWarning: (message) => io.err(`procman: warning: ${message}\n`) });
    });
}
