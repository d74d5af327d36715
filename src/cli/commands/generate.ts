// procman generate: the model as another process manager's configuration, written to a directory.
import { mkdir, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { GENERATOR_NAMES, type GeneratorName } from "../../../generators/names.js";
import { GeneratorError } from "../../../generators/types.js";
import { ProcmanError } from "../../errors.js";
import { resolveModelFile } from "../../resolve-model.js";
import { forceDisableUserChangeOption, processManagerOption, resolveOptions, stateDirOption, type CommonOptions } from "../options.js";
import type { Output } from "../output.js";

interface GenerateOptions extends CommonOptions {
  out?: string;
  userUnits?: boolean;
}

export function registerGenerate(program: Command, io: Output): void {
  program
    .command("generate")
    .description("write systemd units, launchd plists, a supervisord config or sysvinit scripts for the model")
    .argument("<model>", "processes model")
    .addOption(processManagerOption(GENERATOR_NAMES).makeOptionMandatory())
    .option("--out <dir>", "directory to write the files to (default: ./procman-<manager>)")
    .option("--user-units", "systemd: units for `systemctl --user` (no User=/Group=)")
    .addOption(stateDirOption())
    .addOption(forceDisableUserChangeOption())
    .addHelpText("after", "\nExample:\n  procman generate processes.ts -P systemd --out units/\n")
    .action(async (file: string, options: GenerateOptions) => {
      const manager = options.processManager as GeneratorName;
      const model = await resolveModelFile(file, resolveOptions(options, manager));
      let output;
      try {
        const { GENERATORS } = await import("../../../generators/index.js");
        output = GENERATORS[manager](model, { userUnits: options.userUnits === true });
      } catch (error) {
        if (error instanceof GeneratorError) throw new ProcmanError(error.code, error.message, error.exitCode);
        throw error;
      }
      for (const warning of output.warnings) io.err(`procman: warning: ${warning}\n`);
      const out = path.resolve(options.out ?? `procman-${manager}`);
      for (const generated of output.files) {
        const target = path.join(out, generated.path);
        await mkdir(path.dirname(target), { recursive: true });
        await rm(target, { force: true });
        if (generated.symlink !== undefined) await symlink(generated.symlink, target);
        else await writeFile(target, generated.contents, { mode: generated.mode });
      }
      io.out(`wrote ${output.files.length} files for ${manager} to ${out}\n`);
    });
}
