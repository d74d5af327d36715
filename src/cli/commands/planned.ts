// Commands of the contract that later work implements: their help and flags exist now, so the
// command line is complete and scripts get a clear answer instead of "unknown command".
import type { Command } from "commander";
import { ProcmanError } from "../../errors.js";
import { forceDisableUserChangeOption, processManagerOption, stateDirOption } from "../options.js";

function notYet(name: string): () => never {
  return () => {
    throw new ProcmanError("ENOTIMPL", `procman ${name} is not implemented in this version yet`, 1);
  };
}

export function registerPlanned(program: Command): void {
  program
    .command("generate")
    .description("write systemd units, launchd plists, a supervisord config or sysvinit scripts [not implemented yet]")
    .argument("<model>", "processes model")
    .addOption(processManagerOption(["systemd", "launchd", "supervisord", "sysvinit"]).makeOptionMandatory())
    .option("--out <dir>", "directory to write the files to")
    .addOption(stateDirOption())
    .addOption(forceDisableUserChangeOption())
    .action(notYet("generate"));
}
