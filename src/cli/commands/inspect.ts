// status and generations (and logs, in logs.ts): commands that only read.
import type { Command } from "commander";
import { ProcmanError } from "../../errors.js";
import { StateDir, type GenerationRecord } from "../../executor/state-dir.js";
import { readStatus, type DeploymentStatus } from "../../executor/status.js";
import { changedFields, changedSettings } from "../../plan/changed-fields.js";
import { jsonOption, resolveStateDir, stateDirOption, type CommonOptions } from "../options.js";
import type { Output } from "../output.js";
import { registerLogs } from "./logs.js";

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

  registerLogs(program, io);
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
  if (status.generation === null) {
    const why = status.interrupted?.running === true ? "a first switch is under way" : "an interrupted first switch: procman stop ends them";
    lines.push(status.processes.length === 0 ? "nothing deployed" : `nothing deployed, but these run (${why})`);
  }
  else lines.push(`generation ${status.generation} (${status.processManager})${status.active ? "" : ", stopped"}`);
  if (status.supervisor !== undefined && (status.supervisor.running || status.supervisorExpected)) {
    lines.push(status.supervisor.running ? `supervisor: running, PID ${status.supervisor.pid}` : "supervisor: NOT running (the next switch starts it again)");
  }
  for (const damaged of status.damaged) lines.push(`damaged: ${damaged}`);
  const cut = status.interrupted;
  if (cut !== undefined && cut !== null) {
    if (cut.running) lines.push(`a ${cut.command} is under way (PID ${cut.pid}, since ${cut.startedAt})`);
    else {
      lines.push(`interrupted: a ${cut.command} (PID ${cut.pid}, ${cut.startedAt}) was cut off; the next switch or stop recovers`);
      if (cut.unrecorded.length > 0) lines.push(`  running without a record: ${cut.unrecorded.map((entry) => `${entry.name} (PID ${entry.pid})`).join(", ")}`);
    }
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
  const problems: string[] = status.damaged.length > 0 ? [`${status.damaged.length} damaged state file(s): ${status.damaged.join("; ")}`] : [];
  if (status.interrupted?.running === false) problems.push(`an interrupted ${status.interrupted.command} left its journal`);
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
