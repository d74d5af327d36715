// switch and stop for the other process managers: generate (pure), compare each process's files
// with what is installed, stop what goes or changed (dependents first), install the files, start
// what is new or changed (dependencies first, each ready before the next), undo on failure, and
// record the generation — the same semantics as the direct manager, through the manager's tool.
import { mkdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { createHash } from "node:crypto";
import path from "node:path";
import { GENERATORS } from "../../../generators/index.js";
import { GeneratorError, type GeneratedFile } from "../../../generators/types.js";
import { ProcmanError } from "../../errors.js";
import type { ProcessContext, ResolvedModel } from "../../model/types.js";
import { activationOrder } from "../../graph/graph.js";
import { planSwitch, type ObservedProcess, type Plan } from "../../plan/plan.js";
import { writeFileAtomic } from "../atomic.js";
import { SwitchFailedError, type SwitchResult } from "../switch-result.js";
import type { EventSink } from "../events.js";
import { identityOf } from "../proc.js";
import { StateDir } from "../state-dir.js";
import type { ManagerAdapter } from "./adapter.js";
import { ToolError } from "./run-tool.js";
import { launchdAdapter } from "./launchd.js";
import { supervisordAdapter } from "./supervisord.js";
import { systemdAdapter } from "./systemd.js";
import { sysvinitAdapter } from "./sysvinit.js";

export type ManagedName = ManagerAdapter["manager"];

export function createAdapter(manager: ManagedName, context: ProcessContext, dir?: string): ManagerAdapter {
  switch (manager) {
    case "systemd": return systemdAdapter(context, dir);
    case "launchd": return launchdAdapter(context, dir);
    case "supervisord": return supervisordAdapter(context, dir);
    case "sysvinit": return sysvinitAdapter(context, dir);
  }
}

interface Installed {
  readonly dir: string;
  /** Per process: hash of its generated files as installed. */
  readonly hashes: Readonly<Record<string, string>>;
}

function installedFile(state: StateDir, manager: string): string {
  return path.join(state.lib, `${manager}-installed.json`);
}

function readInstalled(state: StateDir, manager: string): Installed | undefined {
  try {
    return JSON.parse(readFileSync(installedFile(state, manager), "utf8")) as Installed;
  } catch {
    return undefined;
  }
}

function generate(adapter: ManagerAdapter, model: ResolvedModel): { files: readonly GeneratedFile[]; hashes: Record<string, string>; warnings: readonly string[] } {
  let output;
  try {
    output = GENERATORS[adapter.manager](model, adapter.generatorOptions);
  } catch (error) {
    if (error instanceof GeneratorError) throw new ProcmanError(error.code, error.message, 2);
    throw error;
  }
  const hashes: Record<string, string> = {};
  for (const process of model.processes) {
    const hash = createHash("sha256");
    for (const file of adapter.filesOf(output.files, process.name)) hash.update(`${file.path}\0${file.mode}\0${file.contents}\0`);
    hashes[process.name] = hash.digest("hex").slice(0, 32);
  }
  return { files: output.files, hashes, warnings: output.warnings };
}

function install(adapter: ManagerAdapter, files: readonly GeneratedFile[], obsolete: readonly GeneratedFile[]): void {
  for (const file of obsolete) rmSync(path.join(adapter.dir, file.path), { force: true });
  for (const file of files) {
    const target = path.join(adapter.dir, file.path);
    mkdirSync(path.dirname(target), { recursive: true });
    if (file.symlink !== undefined) {
      rmSync(target, { force: true });
      symlinkSync(file.symlink, target);
    } else writeFileAtomic(target, file.contents, file.mode);
  }
}

export interface ManagedSwitchOptions {
  readonly manager: ManagedName;
  readonly model: ResolvedModel;
  readonly modelFile?: string;
  readonly dryRun?: boolean;
  readonly rollbackOf?: number;
  readonly lockWait: number;
  /** Install into this directory instead of the state dir (e.g. ~/.config/systemd/user). */
  readonly dir?: string;
  readonly onEvent: EventSink;
  readonly onWarning: (message: string) => void;
}

export async function switchManaged(options: ManagedSwitchOptions): Promise<SwitchResult> {
  try {
    return await switchManagedUnchecked(options);
  } catch (error) {
    // A manager's tool that fails is an operation that failed (exit 1), not a bug in procman.
    if (error instanceof ToolError) throw new SwitchFailedError(error.message);
    throw error;
  }
}

async function switchManagedUnchecked(options: ManagedSwitchOptions): Promise<SwitchResult> {
  const began = Date.now();
  const { model, onEvent } = options;
  const state = new StateDir(model.context.stateDir);
  const release = await state.lock(options.lockWait);
  try {
    const current = state.readCurrent();
    const currentRecord = current !== undefined ? state.readGeneration(current.generation) : undefined;
    if (current?.active === true && currentRecord !== undefined && currentRecord.processManager !== options.manager) {
      throw new ProcmanError("EMANAGER", `generation ${current.generation} runs under ${currentRecord.processManager}; run procman stop first to move to ${options.manager}`, 2);
    }
    const previous = current?.active === true ? currentRecord?.model : undefined;
    const adapter = createAdapter(options.manager, model.context, options.dir ?? readInstalled(state, options.manager)?.dir);
    const generated = generate(adapter, model);
    generated.warnings.forEach(options.onWarning);
    const installed = readInstalled(state, options.manager);

    const observed = new Map<string, ObservedProcess>();
    for (const [name, hash] of Object.entries(installed?.hashes ?? {})) {
      observed.set(name, { name, specHash: hash, state: (await adapter.running(name)) ? "running" : "dead" });
    }
    const plan = planSwitch(model, observed, previous, (process) => generated.hashes[process.name]!);
    onEvent({ type: "plan", plan });
    if (options.dryRun === true) return { plan, generation: undefined };

    state.writeJournal({ ...identityOf(process.pid)!, startedAt: new Date().toISOString(), command: `switch -P ${options.manager}` });
    // A process restarted only because what it activatesAfter changed keeps its files: it is
    // restarted in place after its dependencies are ready (launchd: kickstart -k), not stopped first.
    const wantedNames = new Set(model.processes.map((process) => process.name));
    const inPlace = new Set(
      plan.stop
        .map((step) => step.name)
        .filter((name) => wantedNames.has(name) && installed?.hashes[name] === generated.hashes[name]),
    );
    const stopped = await stopAll(adapter, { ...plan, stop: plan.stop.filter((step) => !inPlace.has(step.name)) }, onEvent);
    const previousFiles = previous !== undefined ? generate(adapter, previous) : undefined;
    const removed = Object.keys(installed?.hashes ?? {}).filter((name) => !wantedNames.has(name));
    // The managers open logs and PID files but do not create their directories.
    for (const managed of model.processes) {
      mkdirSync(path.dirname(managed.logFile), { recursive: true, mode: 0o755 });
      mkdirSync(path.dirname(managed.pidFile), { recursive: true, mode: 0o755 });
    }
    install(adapter, generated.files, removedFiles(previousFiles?.files ?? [], generated.files));
    writeFileAtomic(installedFile(state, options.manager), `${JSON.stringify({ dir: adapter.dir, hashes: generated.hashes })}\n`);
    await adapter.afterInstall(plan.start.map((step) => step.name), removed);

    const started: string[] = [];
    try {
      await startAll(adapter, model, plan, new Set(stopped), observed, installed?.hashes ?? {}, generated.hashes, started, onEvent);
    } catch (error) {
      onEvent({ type: "undoing", message: `stopping ${started.length} started, restarting ${stopped.length} stopped` });
      for (const name of [...started].reverse()) await adapter.stop(name).catch(() => undefined);
      if (previous !== undefined && previousFiles !== undefined) {
        install(adapter, previousFiles.files, removedFiles(generated.files, previousFiles.files));
        writeFileAtomic(installedFile(state, options.manager), `${JSON.stringify({ dir: adapter.dir, hashes: previousFiles.hashes })}\n`);
        await adapter.afterInstall(previous.processes.map((process) => process.name), []).catch(() => undefined);
        // Everything that ran before and does not now, in dependency order: not only what this
        // switch stopped itself (systemd also stops the units that Requires= a stopped one).
        const order = activationOrder(previous.processes);
        const byName = new Map(previous.processes.map((process) => [process.name, process]));
        for (const name of order) {
          if (observed.get(name)?.state !== "running" || (await adapter.running(name))) continue;
          await adapter.start({ process: byName.get(name)!, filesChanged: true, running: false }).catch(() => undefined);
        }
      }
      state.clearJournal();
      throw error;
    }
    const generation = state.writeGeneration(model, options.manager, options.modelFile, options.rollbackOf);
    state.setCurrent({ generation, active: true });
    state.clearJournal();
    onEvent({ type: "done", generation, ms: Date.now() - began });
    return { plan, generation };
  } finally {
    await release();
  }
}

/** Files that the old output had and the new one does not. */
function removedFiles(before: readonly GeneratedFile[], after: readonly GeneratedFile[]): GeneratedFile[] {
  const keep = new Set(after.map((file) => file.path));
  return before.filter((file) => !keep.has(file.path));
}

async function stopAll(adapter: ManagerAdapter, plan: Plan, onEvent: EventSink): Promise<string[]> {
  const stopped: string[] = [];
  for (const step of plan.stop) {
    const began = Date.now();
    onEvent({ type: "stopping", name: step.name, pid: 0, reason: step.reason });
    await adapter.stop(step.name);
    stopped.push(step.name);
    onEvent({ type: "stopped", name: step.name, pid: 0, ms: Date.now() - began, killed: false });
  }
  return stopped;
}

async function startAll(
  adapter: ManagerAdapter,
  model: ResolvedModel,
  plan: Plan,
  stoppedNow: ReadonlySet<string>,
  observed: ReadonlyMap<string, ObservedProcess>,
  before: Readonly<Record<string, string>>,
  after: Readonly<Record<string, string>>,
  started: string[],
  onEvent: EventSink,
): Promise<void> {
  const processes = new Map(model.processes.map((process) => [process.name, process]));
  for (const step of plan.start) {
    const process = processes.get(step.name)!;
    const began = Date.now();
    onEvent({ type: "starting", name: step.name, reason: step.reason });
    const running = observed.get(step.name)?.state === "running" && !stoppedNow.has(step.name);
    try {
      await adapter.start({ process, filesChanged: before[step.name] !== after[step.name], running });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      onEvent({ type: "failed", name: step.name, message, logTail: "" });
      throw new SwitchFailedError(`${step.name}: ${message}`);
    }
    started.push(step.name);
    onEvent({ type: "ready", name: step.name, pid: 0, ms: Date.now() - began });
  }
}

/** procman stop for a generation deployed to another manager. */
export async function stopManaged(state: StateDir, manager: ManagedName, model: ResolvedModel, onEvent: EventSink): Promise<void> {
  const installed = readInstalled(state, manager);
  const adapter = createAdapter(manager, model.context, installed?.dir);
  const observed = new Map<string, ObservedProcess>();
  for (const [name, hash] of Object.entries(installed?.hashes ?? {})) {
    observed.set(name, { name, specHash: hash, state: (await adapter.running(name)) ? "running" : "dead" });
  }
  const plan = planSwitch({ context: model.context, processes: [] }, observed, model);
  await stopAll(adapter, plan, onEvent);
  if ("shutdown" in adapter && typeof adapter.shutdown === "function") await (adapter.shutdown as () => Promise<void>)();
}

/** status for a generation deployed to another manager: what its tool says. */
export async function managedRunning(state: StateDir, manager: ManagedName, model: ResolvedModel): Promise<Map<string, boolean>> {
  const adapter = createAdapter(manager, model.context, readInstalled(state, manager)?.dir);
  const result = new Map<string, boolean>();
  for (const process of model.processes) result.set(process.name, await adapter.running(process.name));
  return result;
}
