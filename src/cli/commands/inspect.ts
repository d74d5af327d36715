// status, generations and logs: commands that only read.
import { open, stat } from "node:fs/promises";
import { Option, InvalidArgumentError, type Command } from "commander";
import { ProcmanError } from "../../errors.js";
import { StateDir } from "../../executor/state-dir.js";
import { readStatus } from "../../executor/status.js";
import { sleep } from "../../executor/readiness.js";
import { jsonOption, resolveStateDir, stateDirOption, type CommonOptions } from "../options.js";
import type { Output } from "../output.js";

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

  program
    .command("logs")
    .description("print the end of a process's log (stdout and stderr of what procman daemonized)")
    .argument("<name>", "process name")
    .addOption(stateDirOption())
    .option("-f, --follow", "keep printing what is appended (Ctrl-C to stop)")
    .addOption(new Option("-n, --lines <n>", "how many lines from the end").default(50).argParser(parseCount))
    .action(async (name: string, options: CommonOptions & { follow?: boolean; lines: number }) => {
      const state = new StateDir(resolveStateDir(options.stateDir));
      const current = state.readCurrent();
      const model = current !== undefined ? state.readGeneration(current.generation).model : undefined;
      const process = model?.processes.find((candidate) => candidate.name === name);
      if (process === undefined) {
        const known = model?.processes.map((candidate) => candidate.name).join(", ") ?? "";
        throw new ProcmanError("EUNKNOWN", `no process "${name}" in the deployed generation${known === "" ? " (nothing deployed)" : ` (known: ${known})`}`, 2);
      }
      let offset = await printTail(process.logFile, options.lines, io);
      while (options.follow === true) {
        await sleep(200);
        offset = await printFrom(process.logFile, offset, io);
      }
    });
}

function parseCount(value: string): number {
  if (!/^[0-9]+$/.test(value)) throw new InvalidArgumentError("must be a whole number");
  return Number(value);
}

async function printTail(file: string, lines: number, io: Output): Promise<number> {
  const size = (await stat(file).catch(() => undefined))?.size ?? 0;
  const start = Math.max(0, size - 1024 * 1024);
  const text = await readRange(file, start, size);
  const all = text.split("\n");
  if (all.at(-1) === "") all.pop();
  const tail = lines === 0 ? [] : all.slice(-lines);
  if (tail.length > 0) io.out(`${tail.join("\n")}\n`);
  return size;
}

async function printFrom(file: string, offset: number, io: Output): Promise<number> {
  const size = (await stat(file).catch(() => undefined))?.size ?? 0;
  if (size < offset) return printFrom(file, 0, io); // truncated or replaced: start over
  if (size > offset) io.out(await readRange(file, offset, size));
  return size;
}

async function readRange(file: string, start: number, end: number): Promise<string> {
  if (end <= start) return "";
  const handle = await open(file, "r").catch(() => undefined);
  if (handle === undefined) return "";
  try {
    const buffer = Buffer.alloc(end - start);
    await handle.read(buffer, 0, buffer.length, start);
    return buffer.toString("utf8");
  } finally {
    await handle.close();
  }
}
