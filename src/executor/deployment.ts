// The direct process manager: switch, stop and the observation both start from. It carries out a
// plan with undo on failure, and keeps the records so that a crash at any instant converges on the
// next run: a record is written right after each spawn, every spawn is tagged, and a journal marks a
// switch in progress so the next one looks for tagged processes whose record was never written.
import { ProcmanError } from "../errors.js";
import type { ResolvedModel, ResolvedProcess } from "../model/types.js";
import { planSwitch, type ObservedProcess, type Plan } from "../plan/plan.js";
import { specHash } from "../plan/spec-hash.js";
import type { EventSink } from "./events.js";
import type { ManagedName } from "./managed/deploy.js";
import { SwitchFailedError, type SwitchResult } from "./switch-result.js";
import { StartError, TAG_VARIABLE, launch, logTail, tagFor, type Launched } from "./launch.js";
import { claimedIds } from "./pid-trust.js";
import { sweepTagged } from "./tag-sweep.js";
import { checkIdentity, identityOf, listPids, readEnvironmentVariable, readProcStat, stillRuns } from "./proc.js";
import { AbandonedError, NotReadyError, waitUntilReady } from "./readiness.js";
import { runAsReady } from "./schedule.js";
import { StateDir, type ProcessRecord } from "./state-dir.js";
import { terminate } from "./terminate.js";

export { SwitchFailedError, type SwitchResult } from "./switch-result.js";

export interface SwitchOptions {
  readonly model: ResolvedModel;
  readonly modelFile?: string;
  readonly dryRun?: boolean;
  /** For rollback: the generation whose model this brings back. */
  readonly rollbackOf?: number;
  /** Seconds to wait for another procman's lock. */
  readonly lockWait: number;
  readonly onEvent: EventSink;
}

export async function switchDeployment(options: SwitchOptions): Promise<SwitchResult> {
  const began = Date.now();
  const state = new StateDir(options.model.context.stateDir);
  const release = await state.lock(options.lockWait);
  try {
    if (!options.dryRun) await recoverInterrupted(state, options.onEvent);
    const current = state.readCurrent();
    const currentRecord = current?.active === true ? state.readGeneration(current.generation) : undefined;
    if (currentRecord !== undefined && currentRecord.processManager !== "direct") {
      // Its processes run under another manager: starting them here too would run them twice.
      throw new ProcmanError(
        "EMANAGER",
        `generation ${currentRecord.generation} runs under ${currentRecord.processManager}; run procman stop first to move to the direct process manager`,
        2,
      );
    }
    const previous = currentRecord?.model;
    const records = state.readRecords();
    const plan = planSwitch(options.model, observe(records), previous);
    options.onEvent({ type: "plan", plan });
    if (options.dryRun) return { plan, generation: undefined };

    state.writeJournal({ ...identityOf(process.pid)!, startedAt: new Date().toISOString(), command: "switch" });
    const stopped: ProcessRecord[] = [];
    const started: string[] = [];
    try {
      for (const step of plan.forget) {
        await forget(state, records.get(step.name)!);
        options.onEvent({ type: "forgotten", name: step.name, reason: step.reason });
      }
      await sweepTagged(sweepTargets(plan.forget.map((step) => records.get(step.name)!), state.stateDir));
      await stopSteps(state, records, plan, options.onEvent, stopped);
      await startSteps(state, options.model, plan, started, options.onEvent);
    } catch (error) {
      await undo(state, options.model, previous, started, stopped, options.onEvent);
      state.clearJournal();
      throw error;
    }
    refreshKeptRecords(state, options.model, plan);
    const generation = state.writeGeneration(options.model, "direct", options.modelFile, options.rollbackOf);
    state.setCurrent({ generation, active: true });
    state.clearJournal();
    options.onEvent({ type: "done", generation, ms: Date.now() - began });
    return { plan, generation };
  } finally {
    await release();
  }
}

/** Stops everything deployed, dependents first; the generation stays, marked inactive. */
export async function stopDeployment(stateDir: string, lockWait: number, onEvent: EventSink): Promise<void> {
  const began = Date.now();
  const state = new StateDir(stateDir);
  const release = await state.lock(lockWait);
  try {
    await recoverInterrupted(state, onEvent);
    const current = state.readCurrent();
    const generation = current !== undefined ? state.readGeneration(current.generation) : undefined;
    const model = generation?.model;
    if (generation !== undefined && generation.processManager !== "direct") {
      // Loaded only when needed: the managers' modules (execa, generators) cost every command time.
      const { stopManaged } = await import("./managed/deploy.js");
      await stopManaged(state, generation.processManager as ManagedName, generation.model, onEvent);
      state.setCurrent({ generation: generation.generation, active: false });
      onEvent({ type: "done", generation: generation.generation, ms: Date.now() - began });
      return;
    }
    const records = state.readRecords();
    const empty: ResolvedModel = { context: model?.context ?? ({} as ResolvedModel["context"]), processes: [] };
    const plan = planSwitch(empty, observe(records), model);
    state.writeJournal({ ...identityOf(process.pid)!, startedAt: new Date().toISOString(), command: "stop" });
    for (const step of plan.forget) await forget(state, records.get(step.name)!);
    await sweepTagged(sweepTargets(plan.forget.map((step) => records.get(step.name)!), state.stateDir));
    await stopSteps(state, records, plan, onEvent);
    if (current !== undefined) state.setCurrent({ generation: current.generation, active: false });
    state.clearJournal();
    onEvent({ type: "done", generation: current?.generation, ms: Date.now() - began });
  } finally {
    await release();
  }
}

export function observe(records: ReadonlyMap<string, ProcessRecord>): Map<string, ObservedProcess> {
  const observed = new Map<string, ObservedProcess>();
  for (const record of records.values()) {
    const state = checkIdentity(record);
    observed.set(record.name, { name: record.name, specHash: record.specHash, state: state === "paused" ? "running" : state });
  }
  return observed;
}

/**
 * The record of a process that is gone. Its PID is never signalled (terminate verifies it first),
 * but what it left in its process group goes too, and its PID file if it names it.
 */
async function forget(state: StateDir, record: ProcessRecord): Promise<void> {
  await terminate({ ...record, tag: tagFor(record.name, record.specHash, state.stateDir) });
  state.removeRecord(record.name);
}

/**
 * A kept process runs on, but how to stop it may have changed (stop signal and timeout are not
 * part of what restarts it): its record takes the new settings.
 */
function refreshKeptRecords(state: StateDir, model: ResolvedModel, plan: Plan): void {
  const records = state.readRecords();
  const processes = new Map(model.processes.map((process) => [process.name, process]));
  for (const { name } of plan.keep) {
    const record = records.get(name);
    const process = processes.get(name);
    if (record === undefined || process === undefined) continue;
    if (record.stopSignal !== process.stop.signal || record.stopTimeout !== process.stop.timeout) {
      state.writeRecord({ ...record, stopSignal: process.stop.signal, stopTimeout: process.stop.timeout });
    }
  }
}

/** The tags of stopped records, for one sweep of what they left running (setsid'd or double-forked). */
function sweepTargets(records: readonly ProcessRecord[], stateDir: string): Map<string, { stopSignal: string; stopTimeout: number }> {
  return new Map(records.map((record) => [tagFor(record.name, record.specHash, stateDir), record]));
}

/** Stops the plan's stops, dependents first; what it stopped is pushed to `stopped` as it goes. */
async function stopSteps(
  state: StateDir,
  records: ReadonlyMap<string, ProcessRecord>,
  plan: Plan,
  onEvent: EventSink,
  stopped: ProcessRecord[] = [],
): Promise<ProcessRecord[]> {
  const reasons = new Map(plan.stop.map((step) => [step.name, step.reason]));
  // Wait for dependents: a process stops once everything that activatesAfter it has stopped.
  const dependents = new Map<string, string[]>();
  for (const { name, activatesAfter } of plan.stopEdges) {
    for (const dependency of activatesAfter) dependents.set(dependency, [...(dependents.get(dependency) ?? []), name]);
  }
  await runAsReady(
    plan.stop.map((step) => step.name),
    (name) => dependents.get(name) ?? [],
    async (name) => {
      const record = records.get(name)!;
      const began = Date.now();
      onEvent({ type: "stopping", name, pid: record.pid, reason: reasons.get(name) ?? "" });
      const outcome = await terminate({ ...record, tag: tagFor(record.name, record.specHash, state.stateDir) });
      state.removeRecord(name);
      stopped.push(record);
      onEvent({ type: "stopped", name, pid: record.pid, ms: Date.now() - began, killed: outcome === "killed" });
    },
  );
  await sweepTagged(sweepTargets(plan.stop.map((step) => records.get(step.name)!), state.stateDir));
  return stopped;
}

async function startSteps(state: StateDir, model: ResolvedModel, plan: Plan, started: string[], onEvent: EventSink): Promise<void> {
  const processes = new Map(model.processes.map((process) => [process.name, process]));
  const reasons = new Map(plan.start.map((step) => [step.name, step.reason]));
  const starting = new Set(reasons.keys());
  // A kept process that something starting depends on is checked once: a crash may have cut its
  // start short after its record was written and before it became ready.
  const records = state.readRecords();
  const gates = new Set<string>();
  for (const name of starting) {
    for (const dependency of processes.get(name)!.activatesAfter) if (!starting.has(dependency)) gates.add(dependency);
  }
  await runAsReady(
    [...gates, ...starting],
    (name) => (starting.has(name) ? processes.get(name)!.activatesAfter : []),
    async (name, signal) => {
      const process = processes.get(name)!;
      if (!starting.has(name)) {
        const record = records.get(name);
        if (record !== undefined) await readyOrFail(process, record, 0, onEvent, signal, undefined, undefined, state.stateDir);
        return;
      }
      onEvent({ type: "starting", name, reason: reasons.get(name) ?? "" });
      await startOne(state, process, started, onEvent, signal);
    },
  );
}

async function startOne(
  state: StateDir,
  process: ResolvedProcess,
  started: string[],
  onEvent: EventSink,
  signal: AbortSignal,
): Promise<void> {
  const hash = specHash(process);
  const began = Date.now();
  let launched;
  try {
    const claimed = process.mode === "daemon" ? { claimed: claimedIds(state.readRecords().values(), process.name) } : {};
    launched = await launch(process, hash, state.stateDir, claimed);
  } catch (error) {
    const message = error instanceof StartError ? error.message : String(error);
    const offset = error instanceof StartError ? error.logOffset : undefined;
    onEvent({ type: "failed", name: process.name, message, logTail: offset === undefined ? "" : logTail(process.logFile, offset) });
    throw new SwitchFailedError(`${process.name}: ${message}`);
  }
  const record: ProcessRecord = {
    name: process.name,
    pid: launched.pid,
    startTime: launched.startTime,
    mode: process.mode,
    specHash: hash,
    pidFile: process.pidFile,
    stopSignal: process.stop.signal,
    stopTimeout: process.stop.timeout,
    startedAt: new Date().toISOString(),
    pgid: launched.pgid,
    sid: launched.sid,
    logDev: launched.log.dev,
    logIno: launched.log.ino,
    logOffset: launched.logOffset,
  };
  try {
    state.writeRecord(record);
  } catch (error) {
    // Unrecorded, it would run on untracked and be started twice: stop it before failing.
    await terminate({ ...record, tag: tagFor(record.name, record.specHash, state.stateDir) });
    const message = `cannot write its record: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
    onEvent({ type: "failed", name: process.name, message, logTail: "" });
    throw new SwitchFailedError(`${process.name}: ${message}`);
  }
  started.push(process.name);
  onEvent({ type: "started", name: process.name, pid: record.pid });
  await readyOrFail(process, record, launched.logOffset, onEvent, signal, began, launched, state.stateDir);
}

async function readyOrFail(
  process: ResolvedProcess,
  record: ProcessRecord,
  logOffset: number,
  onEvent: EventSink,
  signal: AbortSignal,
  began = Date.now(),
  launched?: Launched,
  stateDir?: string,
): Promise<void> {
  try {
    await waitUntilReady(process, record, logOffset, signal, {
      ...(stateDir !== undefined ? { tag: tagFor(record.name, record.specHash, stateDir) } : {}),
      ...(record.pgid !== undefined ? { pgid: record.pgid } : {}),
      ...(record.sid !== undefined ? { sid: record.sid } : {}),
      ...(launched !== undefined ? { exit: launched.exit } : {}),
      ...(launched?.notify !== undefined ? { notify: launched.notify } : {}),
    });
  } catch (error) {
    if (error instanceof AbandonedError) throw error; // the failure that caused it is reported
    const message = error instanceof NotReadyError ? error.message : String(error);
    onEvent({ type: "failed", name: process.name, message, logTail: logTail(process.logFile, record.logOffset ?? logOffset) });
    throw new SwitchFailedError(`${process.name}: ${message}`);
  }
  onEvent({ type: "ready", name: process.name, pid: record.pid, ms: Date.now() - began });
}

/** Stops what this switch started, then starts again what it stopped, as the previous generation had it. */
async function undo(
  state: StateDir,
  model: ResolvedModel,
  previous: ResolvedModel | undefined,
  started: readonly string[],
  stopped: readonly ProcessRecord[],
  onEvent: EventSink,
): Promise<void> {
  onEvent({ type: "undoing", message: `stopping ${started.length} started, restarting ${stopped.length} stopped` });
  const records = state.readRecords();
  const startedSet = new Set(started);
  const undoStop: Plan = {
    stop: [...started].reverse().filter((name) => records.has(name)).map((name) => ({ name, reason: "undo" })),
    start: [],
    keep: [],
    forget: [],
    stopEdges: model.processes
      .filter((process) => startedSet.has(process.name))
      .map(({ name, activatesAfter }) => ({ name, activatesAfter: activatesAfter.filter((dep) => startedSet.has(dep)) })),
  };
  await stopSteps(state, records, undoStop, onEvent);
  if (previous === undefined || stopped.length === 0) return;
  const restore = new Set(stopped.map((record) => record.name));
  const back = previous.processes.filter((process) => restore.has(process.name));
  const undoStart: Plan = { stop: [], start: back.map(({ name }) => ({ name, reason: "undo" })), keep: [], forget: [], stopEdges: [] };
  try {
    await startSteps(state, previous, undoStart, [], onEvent);
  } catch (error) {
    onEvent({ type: "undoing", message: `could not restore everything: ${(error as Error).message}` });
  }
}

/**
 * A journal left behind means a procman died mid-switch. Its records are trustworthy (written
 * atomically right after each spawn); what may be missing is the record of a process spawned just
 * before the crash. Such a process carries procman's tag: stop it, the plan starts it cleanly.
 */
async function recoverInterrupted(state: StateDir, onEvent: EventSink): Promise<void> {
  const journal = state.readJournal();
  if (journal === undefined) return;
  const records = state.readRecords();
  const known = new Set([...records.values()].map((record) => record.pid));
  // A name whose record runs was never a lost spawn (a name's record goes before it starts again):
  // a tagged session leader under that name is its own child that called setsid, and stays.
  const running = new Set([...records.values()].filter((record) => stillRuns(checkIdentity(record))).map((record) => record.name));
  const suffix = `:${state.stateDir}`;
  for (const pid of listPids()) {
    if (known.has(pid) || pid === process.pid) continue;
    const stat = readProcStat(pid);
    // Only session leaders: what procman spawned (foreground) or what a daemon made of itself.
    if (stat === undefined || stat.session !== pid || stat.state === "Z") continue;
    const tag = readEnvironmentVariable(pid, TAG_VARIABLE);
    if (tag === undefined || !tag.endsWith(suffix)) continue;
    const name = tag.slice(0, tag.indexOf(":"));
    if (running.has(name)) continue;
    onEvent({ type: "recovering", message: `stopping ${name} (PID ${pid}), started by an interrupted procman but never recorded` });
    await terminate({ name, pid, startTime: stat.startTime, stopSignal: "SIGTERM", stopTimeout: 10, tag });
  }
  state.clearJournal();
}
