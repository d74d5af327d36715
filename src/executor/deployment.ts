// The commands that change what runs — switch, stop, rollback — each one transaction
// (transaction.ts) over the backend of the deployment's process manager.
import { ProcmanError } from "../errors.js";
import type { ProcessManagerName, ResolvedModel } from "../model/types.js";
import { createBackend } from "./backends/index.js";
import type { EventSink } from "./events.js";
import { runTransaction, type OnlyChange } from "./transaction.js";
import { taggedFor } from "./tag-sweep.js";
import { preflight } from "./preflight.js";
import type { SwitchResult } from "./switch-result.js";
import { StateDir as StateDirClass, type GenerationRecord, type StateDir } from "./state-dir.js";

export { SwitchFailedError, type SwitchResult } from "./switch-result.js";

export const DEFAULT_PREFIX = "procman";

interface Common {
  readonly lockWait: number;
  readonly onEvent: EventSink;
  readonly dryRun?: boolean;
  readonly onWarning?: (message: string) => void;
  /** Other managers: where the generated files go (default: under the state dir). */
  readonly installDir?: string;
}

export interface SwitchOptions extends Common {
  readonly model: ResolvedModel;
  readonly modelFile?: string;
  readonly processManager?: ProcessManagerName;
  readonly prefix?: string;
  /** false: `--no-supervise`, no supervisor for this deployment. */
  readonly supervise?: boolean;
  /**
   * `procman up`: the calling process supervises. This starts its supervisor (paused, on the
   * control socket) when the switch first spawns, so that what the switch starts is its child.
   */
  readonly foreground?: () => Promise<void>;
}

/** The install dir is the target's: stored with its generation, so stop, rollback and status find the files. */
function backendFactory(options: Omit<Common, "installDir">, startForeground?: () => Promise<void>) {
  const onWarning = options.onWarning ?? (() => undefined);
  return (manager: ProcessManagerName, context: ResolvedModel["context"], prefix: string, state: StateDir, installDir: string | undefined) =>
    createBackend(manager, context, prefix, state, { installDir, onWarning, startForeground });
}

/** A switch's install dir: as given, else where the running deployment put its files. Moving them is refused. */
function switchInstallDir(given: string | undefined, current: GenerationRecord | undefined, active: boolean): string | undefined {
  if (given === undefined) return active ? current?.installDir : undefined;
  if (active && current !== undefined && current.processManager !== "direct" && current.installDir !== given) {
    throw new ProcmanError(
      "EINSTALLDIR",
      `generation ${current.generation} installed its files in ${current.installDir ?? "the default place"}; run procman stop first to install them in ${given}`,
      2,
    );
  }
  return given;
}

const withInstallDir = (installDir: string | undefined) => (installDir !== undefined ? { installDir } : {});

export async function switchDeployment(options: SwitchOptions): Promise<SwitchResult> {
  const manager = options.processManager ?? "direct";
  // A user or group that does not exist is bad input: found before the lock, so that it changes
  // nothing on disk (not even a new state dir) and is not a "locked" while another command runs.
  preflight(options.model.processes, manager);
  return runTransaction({
    stateDir: options.model.context.stateDir,
    command: "switch",
    lockWait: options.lockWait,
    ...(options.dryRun !== undefined ? { dryRun: options.dryRun } : {}),
    onEvent: options.onEvent,
    backend: backendFactory(options, options.foreground),
    target: (current, active) => ({
      model: options.model,
      manager,
      ...(options.modelFile !== undefined ? { modelFile: options.modelFile } : {}),
      prefix: options.prefix ?? DEFAULT_PREFIX,
      ...withInstallDir(manager === "direct" ? undefined : switchInstallDir(options.installDir, current, active)),
      ...(options.supervise === false ? { supervise: false } : {}),
      ...(options.foreground !== undefined ? { foreground: true } : {}),
    }),
  });
}

/**
 * Stops everything deployed, dependents first; the generation stays, marked inactive. A state dir
 * never used (a mistyped --state-dir) with nothing running under its tags is left as it is, not
 * made into an empty deployment: `nothingDeployed` is told.
 */
export async function stopDeployment(
  stateDir: string,
  lockWait: number,
  onEvent: EventSink,
  options: Omit<Common, "lockWait" | "onEvent"> & { readonly nothingDeployed?: () => void } = {},
): Promise<void> {
  // What runs under its tags (a lib/procman removed by hand) is stopped under the lock, as always.
  if (!new StateDirClass(stateDir).inUse() && taggedFor(stateDir).length === 0) {
    options.nothingDeployed?.();
    onEvent({ type: "plan", plan: { stop: [], start: [], keep: [], forget: [], stopEdges: [] } });
    onEvent({ type: "done", generation: undefined, ms: 0 });
    return;
  }
  await runTransaction({
    stateDir,
    command: "stop",
    lockWait,
    onEvent,
    backend: backendFactory({ ...options, lockWait, onEvent }),
    target: (current) => ({ model: undefined, manager: current?.processManager ?? "direct", prefix: current?.prefix ?? DEFAULT_PREFIX, ...withInstallDir(current?.installDir) }),
  });
}

export interface RollbackOptions extends Common {
  readonly stateDir: string;
  /** Go back to this generation; default: the one before the current (as Nix counts). */
  readonly to?: number;
  /** Told the chosen target before anything changes. */
  readonly onTarget?: (target: number, from: number) => void;
}

/** Switches back to an earlier generation, chosen under the lock; recorded as a new generation. */
export function rollbackDeployment(options: RollbackOptions): Promise<SwitchResult> {
  return runTransaction({
    stateDir: options.stateDir,
    command: "rollback",
    lockWait: options.lockWait,
    needsDeployment: true,
    ...(options.dryRun !== undefined ? { dryRun: options.dryRun } : {}),
    onEvent: options.onEvent,
    backend: backendFactory(options),
    target: (current, _active, state) => {
      const target = rollbackTarget(current, state, options.to);
      options.onTarget?.(target.generation, current!.generation);
      return {
        model: target.model,
        manager: target.processManager,
        ...(target.modelFile !== undefined ? { modelFile: target.modelFile } : {}),
        rollbackOf: target.generation,
        prefix: target.prefix ?? DEFAULT_PREFIX,
        ...withInstallDir(target.installDir),
        ...(target.supervise === false ? { supervise: false } : {}),
      };
    },
  });
}

/**
 * Like Nix: each rollback goes one further back; a generation made by rollback counts as the one it
 * brought back, so two rollbacks do not toggle between two generations.
 */
function rollbackTarget(current: GenerationRecord | undefined, state: StateDir, to: number | undefined): GenerationRecord {
  if (current === undefined) throw new ProcmanError("ENOGEN", `nothing to roll back to in ${state.stateDir}: nothing deployed`, 2);
  const generations = state.listGenerations();
  if (to !== undefined) {
    if (!generations.includes(to)) throw new ProcmanError("ENOGEN", `there is no generation ${to} in ${state.stateDir} (there are ${generations.join(", ")})`, 2);
    return state.readGeneration(to);
  }
  const base = current.rollbackOf ?? current.generation;
  const target = generations.filter((generation) => generation < base).at(-1);
  if (target === undefined) throw new ProcmanError("ENOGEN", `nothing to roll back to in ${state.stateDir}: generation ${base} is the first`, 2);
  return state.readGeneration(target);
}

export interface OnlyOptions extends Common {
  readonly stateDir: string;
  readonly change: OnlyChange;
}

/** start, stop or restart NAME… of what is deployed, through the same transaction. */
export function changeProcesses(options: OnlyOptions): Promise<SwitchResult> {
  return runTransaction({
    stateDir: options.stateDir,
    command: options.change.kind === "stop" ? "stop" : options.change.kind,
    lockWait: options.lockWait,
    needsDeployment: true,
    onEvent: options.onEvent,
    backend: backendFactory(options),
    target: (current, active, state) => {
      if (current === undefined || !active) throw new ProcmanError("ENOGEN", `nothing is deployed in ${state.stateDir}`, 2);
      const known = new Set(current.model.processes.map((spec) => spec.name));
      const unknown = options.change.names.filter((name) => !known.has(name));
      if (unknown.length > 0) throw new ProcmanError("EUNKNOWN", `not in generation ${current.generation}: ${unknown.join(", ")}`, 2);
      return {
        model: current.model,
        manager: current.processManager,
        prefix: current.prefix ?? DEFAULT_PREFIX,
        ...withInstallDir(current.installDir),
        ...(current.supervise === false ? { supervise: false } : {}),
        only: options.change,
      };
    },
  });
}

/**
 * `procman start` with no names: the current generation again, as it was deployed — after `stop`,
 * or after a reboot (what `procman startup` installs runs this). Records no new generation.
 */
export function reactivateDeployment(options: Common & { readonly stateDir: string }): Promise<SwitchResult> {
  return runTransaction({
    stateDir: options.stateDir,
    command: "switch",
    lockWait: options.lockWait,
    needsDeployment: true,
    onEvent: options.onEvent,
    backend: backendFactory(options),
    target: (current, _active, state) => {
      if (current === undefined) throw new ProcmanError("ENOGEN", `nothing to start in ${state.stateDir}: nothing was ever deployed`, 2);
      return {
        model: current.model,
        manager: current.processManager,
        ...(current.modelFile !== undefined ? { modelFile: current.modelFile } : {}),
        prefix: current.prefix ?? DEFAULT_PREFIX,
        ...withInstallDir(current.installDir),
        ...(current.supervise === false ? { supervise: false } : {}),
      };
    },
  });
}

/** procman reload NAME…: each named process of what is deployed gets its stop.reloadSignal, under the lock. */
export async function reloadProcesses(options: {
  readonly stateDir: string;
  readonly lockWait: number;
  readonly names: readonly string[];
}): Promise<{ readonly name: string; readonly signal: string }[]> {
  const state = new StateDirClass(options.stateDir);
  if (!state.inUse()) throw new ProcmanError("ENOGEN", `nothing is deployed in ${state.stateDir}`, 2); // and nothing made
  const release = await state.lock(options.lockWait);
  try {
    const pointer = state.readCurrent();
    if (pointer === undefined || !pointer.active) throw new ProcmanError("ENOGEN", `nothing is deployed in ${state.stateDir}`, 2);
    const current = state.readGeneration(pointer.generation);
    const specs = new Map(current.model.processes.map((spec) => [spec.name, spec]));
    const unknown = options.names.filter((name) => !specs.has(name));
    if (unknown.length > 0) throw new ProcmanError("EUNKNOWN", `not in generation ${current.generation}: ${unknown.join(", ")}`, 2);
    const backend = await backendFactory({ ...options, onEvent: () => undefined })(current.processManager, current.model.context, current.prefix ?? DEFAULT_PREFIX, state, current.installDir);
    if (backend.reload === undefined) throw new ProcmanError("EUNSUPPORTED", `procman reload is not supported under ${current.processManager}`, 2);
    const notRunning: string[] = [];
    const sent: { name: string; signal: string }[] = [];
    for (const name of options.names) {
      const spec = specs.get(name)!;
      if (await backend.reload(spec)) sent.push({ name, signal: spec.stop.reloadSignal });
      else notRunning.push(name);
    }
    if (notRunning.length > 0) {
      const done = sent.length > 0 ? ` (${sent.map((entry) => entry.name).join(", ")} got their signal)` : "";
      throw new ProcmanError("ENOTRUNNING", `not running, not reloaded: ${notRunning.join(", ")}${done}`, 1);
    }
    return sent;
  } finally {
    await release();
  }
}
