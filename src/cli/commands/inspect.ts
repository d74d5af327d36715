// status and generations (and logs, in logs.ts): commands that only read.
import type { Command } from "commander";
import { StateDir } from "../../executor/state-dir.js";
import { readStatus } from "../../executor/status.js";
import { jsonOption, resolveStateDir, stateDirOption, type CommonOptions } from "../options.js";
import type { Output } from "../output.js";
import { registerLogs } from "./logs.js";

export function registerInspect(program: Command, io: Output): void {
  program
    .command("status")
    .description("what really runs, per declared process (identity verified from /proc); changes nothing")
    .addOption(stateDirOption())
    .addOption(jsonOption())
    .addHelpText("after", "\nStates: running, not-ready, changed (runs, but not as declared), dead, pid-reused, stopped, undeclared.\n")
    .action(async (options: CommonOptions) => {
      const status = await readStatus(resolveStateDir(options.stateDir));
      if (options.json === true) {
        io.out(`${JSON.stringify(status, null, 2)}\n`);
        return;
      }
      if (status.generation === null) {
        io.out("nothing deployed\n");
        return;
      }
      io.out(`generation ${status.generation} (${status.processManager})${status.active ? "" : ", stopped"}\n`);
      const width = Math.max(4, ...status.processes.map((process) => process.name.length));
      for (const process of status.processes) {
        const pid = process.pid === null ? "" : `  PID ${process.pid}`;
        io.out(`  ${process.name.padEnd(width)}  ${process.state}${pid}\n`);
      }
    });

  program
    .command("generations")
    .description("list the recorded generations, with their dates and which is current")
    .addOption(stateDirOption())
    .addOption(jsonOption())
    .action((options: CommonOptions) => {
      const state = new StateDir(resolveStateDir(options.stateDir));
      const current = state.readCurrent();
      const list = state.listGenerations().map((generation) => {
        const record = state.readGeneration(generation);
        return {
          generation,
          createdAt: record.createdAt,
          current: current?.generation === generation,
          active: current?.generation === generation && current.active,
          processManager: record.processManager,
          modelFile: record.modelFile ?? null,
          processes: record.model.processes.map((process) => process.name),
        };
      });
      if (options.json === true) {
        io.out(`${JSON.stringify(list, null, 2)}\n`);
        return;
      }
      if (list.length === 0) io.out("no generations\n");
      for (const entry of list) {
        const mark = entry.current ? (entry.active ? "  (current)" : "  (current, stopped)") : "";
        io.out(`${String(entry.generation).padStart(4)}  ${entry.createdAt}  ${entry.processes.length} processes  ${entry.modelFile ?? ""}${mark}\n`);
      }
    });

  registerLogs(program, io);
}
