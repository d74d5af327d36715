// Commands of the contract that later work implements: their help and flags exist now, so the
// command line is complete and scripts get a clear answer instead of "unknown command".
import { Option, type Command } from "commander";
import { ProcmanError } from "../../errors.js";
import { forceDisableUserChangeOption, jsonOption, processManagerOption, stateDirOption } from "../options.js";

function notYet(name: string): () => never {
  return () => {
    throw new ProcmanError("ENOTIMPL", `procman ${name} is not implemented in this version yet`, 1);
  };
}

export function registerPlanned(program: Command): void {
  program
    .command("switch")
    .description("move this machine to what the model declares: stop, start and restart only what changed [not implemented yet]")
    .argument("<model>", "processes model")
    .addOption(processManagerOption())
    .addOption(stateDirOption())
    .addOption(forceDisableUserChangeOption())
    .option("--dry-run", "print the plan (what stops, starts, stays, and why) and change nothing")
    .addOption(jsonOption())
    .action(notYet("switch"));
  program
    .command("stop")
    .description("stop everything deployed, dependents first [not implemented yet]")
    .addOption(stateDirOption())
    .action(notYet("stop"));
  program
    .command("status")
    .description("what really runs, per declared process [not implemented yet]")
    .addOption(stateDirOption())
    .addOption(jsonOption())
    .action(notYet("status"));
  program
    .command("rollback")
    .description("switch back to the previous generation (recorded as a new one) [not implemented yet]")
    .addOption(stateDirOption())
    .action(notYet("rollback"));
  program
    .command("generations")
    .description("list the recorded generations [not implemented yet]")
    .addOption(stateDirOption())
    .addOption(jsonOption())
    .action(notYet("generations"));
  program
    .command("generate")
    .description("write systemd units, launchd plists, a supervisord config or sysvinit scripts [not implemented yet]")
    .argument("<model>", "processes model")
    .addOption(processManagerOption(["systemd", "launchd", "supervisord", "sysvinit"]).makeOptionMandatory())
    .option("--out <dir>", "directory to write the files to")
    .addOption(stateDirOption())
    .addOption(forceDisableUserChangeOption())
    .action(notYet("generate"));
  program
    .command("logs")
    .description("show a process's log [not implemented yet]")
    .argument("<name>", "process name")
    .addOption(stateDirOption())
    .option("-f, --follow", "keep printing what is appended")
    .addOption(new Option("-n, --lines <n>", "how many lines from the end").default("50"))
    .action(notYet("logs"));
}
