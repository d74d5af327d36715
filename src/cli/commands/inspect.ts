// status, generations and logs: commands that only read.
import { open, stat } from "node:fs/promises";
import { Option, InvalidArgumentError, type Command } from "commander";
import { ProcmanError } from "../../errors.js";
import { StateDir, type GenerationRecord } from "../../executor/state-dir.js";
import { readStatus, type DeploymentStatus } from "../../executor/status.js";
import { changedFields, changedSettings } from "../../plan/changed-fields.js";
import { sleep } from "../../executor/readiness.js";
import { jsonOption, resolveStateDir, stateDirOption, type CommonOptions } from "../options.js";
import type { Output } from "../output.js";

export function registerInspect(program: Command, io: Output): void {
  program
    .command("status")
    .description("what really runs, per declared process (identity verified from /proc); changes nothing")
    .addOption(stateDirOption())
    .addOption(jsonOption())
    .addHelpText(
      "after",
      "\nStates: running, not-ready, changed (runs, but not as declared), dead, pid-reused, paused (stopped by a signal), backoff, failed, stopped, undeclared.\nExit status: 0 when every declared process is running (or the deployment is stopped and nothing runs) and a supervisor runs where one is expected; else 1.\n",
    )
    .action(async (options: CommonOptions) => {
      const status = await readStatus(resolveStateDir(options.stateDir));
      if (options.json === true) io.out(`${JSON.stringify(status, null, 2)}\n`);
      else io.out(renderStatus(status));
      const problems = statusProblems(status);
      if (problems.length > 0) throw new ProcmanError("ENOTRUNNING", problems.join("; "), 1);
    });

  program
    .command("generations")
    .description("list the recorded generations, with their dates and which is current")
    .addOption(stateDirOption())
    .addOption(jsonOption())
    .action((options: CommonOptions) => {
      const state = new StateDir(resolveStateDir(options.stateDir));
      const current = state.readCurrent();
      let previous: GenerationRecord | undefined;
      const list = state.listGenerations().map((generation) => {
        const record = state.readGeneration(generation);
        const before = previous;
        previous = record;
        return {
          generation,
          createdAt: record.createdAt,
          current: current?.generation === generation,
          active: current?.generation === generation && current.active,
          processManager: record.processManager,
          modelFile: record.modelFile ?? null,
          processes: record.model.processes.map((spec) => spec.name),
          rollbackOf: record.rollbackOf ?? null,
          summary: before === undefined ? "first" : summarizeChange(before, record),
        };
      });
      if (options.json === true) {
        io.out(`${JSON.stringify(list, null, 2)}\n`);
        return;
      }
      if (list.length === 0) io.out("no generations\n");
      for (const [index, entry] of list.entries()) {
        const mark = entry.current ? (entry.active ? "  (current)" : "  (current, stopped)") : "";
        const rollback = entry.rollbackOf !== null ? `  rollback to ${entry.rollbackOf}` : "";
        io.out(`${String(entry.generation).padStart(4)}  ${entry.createdAt}  ${entry.processes.length} processes  ${entry.modelFile ?? ""}${mark}${rollback}\n`);
        if (index > 0) io.out(`        ${entry.summary}\n`);
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

/** One line: what a generation changed from the one before it. */
function summarizeChange(before: GenerationRecord, after: GenerationRecord): string {
  const old = new Map(before.model.processes.map((spec) => [spec.name, spec]));
  const now = new Map(after.model.processes.map((spec) => [spec.name, spec]));
  const parts: string[] = [];
  const added = [...now.keys()].filter((name) => !old.has(name));
  const removed = [...old.keys()].filter((name) => !now.has(name));
  const changed = [...now.keys()].filter((name) => old.has(name) && JSON.stringify(old.get(name)) !== JSON.stringify(now.get(name)));
  if (before.processManager !== after.processManager) parts.push(`${before.processManager} -> ${after.processManager}`);
  if (added.length > 0) parts.push(`added ${added.join(", ")}`);
  if (removed.length > 0) parts.push(`removed ${removed.join(", ")}`);
  for (const name of changed) {
    const fields = [...new Set([...changedFields(old.get(name)!, now.get(name)!), ...changedSettings(old.get(name)!, now.get(name)!)])];
    parts.push(`changed ${name}${fields.length > 0 ? ` (${fields.join(", ")})` : ""}`);
  }
  return parts.length === 0 ? "no change in processes" : parts.join("; ");
}

function renderStatus(status: DeploymentStatus): string {
  const lines: string[] = [];
  if (status.generation === null) lines.push(status.processes.length === 0 ? "nothing deployed" : "nothing deployed, but these run (an interrupted first switch: procman stop ends them)");
  else lines.push(`generation ${status.generation} (${status.processManager})${status.active ? "" : ", stopped"}`);
  if (status.supervisor !== undefined && (status.supervisor.running || status.supervisorExpected)) {
    lines.push(status.supervisor.running ? `supervisor: running, PID ${status.supervisor.pid}` : "supervisor: NOT running (the next switch starts it again)");
  }
  const rows = status.processes.map((entry) => [
    entry.name,
    entry.state,
    entry.pid === null ? "-" : String(entry.pid),
    String(entry.restarts ?? 0),
    entry.health ?? "-",
    entry.lastExit === null || entry.lastExit === undefined ? "-" : describeExit(entry.lastExit),
  ]);
  if (rows.length > 0) {
    const header = ["NAME", "STATE", "PID", "RESTARTS", "HEALTH", "LAST EXIT"];
    const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
    for (const row of [header, ...rows]) lines.push(`  ${row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join("  ")}`.trimEnd());
  }
  return `${lines.join("\n")}\n`;
}

function describeExit(exit: NonNullable<DeploymentStatus["processes"][number]["lastExit"]>): string {
  const what = exit.signal !== null ? `signal ${exit.signal}` : exit.code !== null ? `code ${exit.code}` : "unknown";
  return `${what} (${exit.reason}) at ${exit.at}`;
}

/** Why status exits 1; empty when everything declared runs as it should. */
function statusProblems(status: DeploymentStatus): string[] {
  const problems: string[] = [];
  if (status.generation === null || !status.active) {
    const running = status.processes.filter((entry) => entry.state === "running" || entry.state === "undeclared" || entry.state === "paused");
    if (running.length > 0) problems.push(`not deployed, yet running: ${running.map((entry) => entry.name).join(", ")}`);
    return problems;
  }
  const bad = status.processes.filter((entry) => entry.state !== "running");
  if (bad.length > 0) problems.push(`not running as declared: ${bad.map((entry) => `${entry.name} (${entry.state})`).join(", ")}`);
  if (status.supervisorExpected && status.supervisor?.running !== true) problems.push("the supervisor is not running");
  return problems;
}
