// The one transaction behind switch, stop and rollback, for every process manager:
// lock → recover an interrupted run → plan → journal → apply → undo on failure → record.
// Backends (backend.ts) only observe, install, start and stop; everything that makes the change
// all-or-nothing lives here.
import { ProcmanError } from "../errors.js";
import { activationOrder, withTransitiveDependents } from "../graph/graph.js";
import type { DependencyEdges, ProcessManagerName, ResolvedModel, ResolvedProcess } from "../model/types.js";
import { createContext } from "../model/context.js";
import { planSwitch, type Plan, type PlanReason } from "../plan/plan.js";
import { adoptSpecHashes } from "../plan/spec-hash.js";
import type { Backend, StepContext, SupervisionMode } from "./backend.js";
import type { EventSink } from "./events.js";
import { NO_CHANGE, type InstallChange } from "./install-record.js";
import { preflight } from "./preflight.js";
import { catchInterrupts, InterruptedError, type Interrupts } from "./interrupt.js";
import { identityOf } from "./proc.js";
import { runAsReady } from "./schedule.js";
import { LockLostError, type LockRelease } from "./lock.js";
import { StateDir, type CurrentPointer, type GenerationRecord } from "./state-dir.js";
import { SwitchFailedError, type SwitchResult } from "./switch-result.js";

/** What the command wants running, decided under the lock from the current generation. */
export interface Target {
  /** undefined: nothing (stop). */
  readonly model: ResolvedModel | undefined;
  readonly manager: ProcessManagerName;
  readonly modelFile?: string;
  readonly rollbackOf?: number;
  readonly prefix: string;
  /** Other managers: where the generated files go (undefined: their default place). */
  readonly installDir?: string;
  /** false: no supervisor for this deployment (`switch --no-supervise`). */
  readonly supervise?: boolean;
  /** `procman up`: this process supervises afterwards (no detached supervisor). */
  readonly foreground?: boolean;
  /** Restrict the change to these processes (start/stop/restart NAME); the rest is kept as is. */
  readonly only?: OnlyChange;
}

export interface OnlyChange {
  readonly kind: "start" | "stop" | "restart";
  readonly names: readonly string[];
}

export interface TransactionOptions {
  readonly stateDir: string;
  readonly command: "switch" | "stop" | "rollback" | "start" | "restart";
  readonly lockWait: number;
  readonly dryRun?: boolean;
  /** rollback, start, stop/restart NAME: refused (by `target`) when nothing was ever deployed. */
  readonly needsDeployment?: boolean;
  readonly onEvent: EventSink;
  /** Decides the target once the lock is held (a rollback's target must not race a switch). */
  readonly target: (current: GenerationRecord | undefined, active: boolean, state: StateDir) => Target;
  readonly backend: (manager: ProcessManagerName, context: ResolvedModel["context"], prefix: string, state: StateDir, installDir: string | undefined) => Promise<Backend>;
}

export async function runTransaction(options: TransactionOptions): Promise<SwitchResult> {
  const began = Date.now();
  const { onEvent } = options;
  const interrupts = catchInterrupts(options.command === "stop" ? "complete" : "undo", (message) => onEvent({ type: "undoing", message }));
  const state = new StateDir(options.stateDir);
  let release: LockRelease | undefined;
  try {
    // A state dir never used is not made by a dry run, nor by a command that needs a deployment
    // (it is refused below): with nothing in it there is nothing to lock either.
    const untouched = (options.dryRun === true || options.needsDeployment === true) && !state.inUse();
    // A stop removes every record it reads: compacting them first is wasted (state-dir.ts).
    if (!untouched) release = await state.lock(options.lockWait, { compact: options.command !== "stop" });
    let pointer: CurrentPointer | undefined;
    let current: GenerationRecord | undefined;
    if (options.command === "stop") {
      // A stop must always work: a damaged record is named, and what runs is found by its tags.
      const deployed = state.readDeployed();
      for (const damaged of deployed.damaged) onEvent({ type: "recovering", message: `${damaged.file}: ${damaged.problem}; stopping by the tags instead` });
      pointer = deployed.current;
      current = deployed.generation;
    } else {
      pointer = state.readCurrent();
      current = pointer !== undefined ? state.readGeneration(pointer.generation) : undefined;
    }
    const active = pointer?.active === true;
    const target = options.target(current, active, state);
    // Only a first switch, running right now beside this command, gets here unlocked.
    if (untouched && options.dryRun !== true) throw new ProcmanError("EBUSY", `${options.stateDir} was deployed to while this command began; run it again`, 1);
    if (options.command === "switch" || options.command === "rollback") {
      if (active && current !== undefined && current.processManager !== target.manager) {
        // Its processes run under another manager: starting them here too would run them twice.
        throw new ProcmanError(
          "EMANAGER",
          `generation ${current.generation} runs under ${current.processManager}; run procman stop first to move to ${target.manager}`,
          2,
        );
      }
    }
    // No generation yet (an interrupted first switch): the records alone say what runs.
    const context = target.model?.context ?? current?.model.context ?? createContext({ stateDir: options.stateDir, modelDir: options.stateDir });
    const backend = await options.backend(target.manager, context, target.prefix, state, target.installDir);
    const supervise = wantsSupervisor(target);
    await backend.begin?.(supervise);
    let finished = false;
    try {
      const journal = options.dryRun === true ? undefined : state.readJournal();
      if (journal !== undefined) {
        // A process the killed run started from a spec this command does not deploy goes (with
        // what runs on it), unless this is a stop of some names, which touches nothing else.
        await backend.recover(onEvent, target.model, target.model !== undefined && target.only?.kind !== "stop");
        // Written by the interrupted command before it changed anything, never made current.
        if (journal.generation !== undefined && journal.generation !== pointer?.generation) state.removeGeneration(journal.generation);
        state.clearJournal();
      } else if (options.dryRun !== true && pointer === undefined && options.command !== "stop") {
        await backend.stopUnrecorded?.(onEvent);
      }
      const previous = active || (current !== undefined && target.model === undefined) ? current?.model : undefined;
      const desired = desiredModel(target, context);
      // What the generation stored for specs that did not change is not hashed again.
      if (current !== undefined) adoptSpecHashes(current.model.processes, current.specHashes, desired.processes);
      const observed = await backend.observe();
      const install = await backend.prepare(desired.processes.length === 0 && target.only === undefined ? undefined : desired, { check: true });
      const plan =
        target.only !== undefined
          ? planOnly(target.only, desired, observed)
          : withRecordedOrder(planSwitch(desired, observed, previous, (spec) => backend.hashOf(spec)), previous, backend.recordedEdges?.() ?? []);
      const starting = new Set(plan.start.map((step) => step.name));
      preflight(desired.processes.filter((spec) => starting.has(spec.name)), target.manager);
      onEvent({ type: "plan", plan, install: install.files.map((file) => ({ path: file.path, link: file.link })) });
      if (options.dryRun === true) return { plan, generation: undefined };

      // A plan without a step and without files to install changes no process: nothing for a
      // recovery to find, so no journal (two fsyncs fewer for a no-op switch).
      const changesNothing =
        plan.stop.length + plan.start.length + plan.forget.length === 0 &&
        (install === NO_CHANGE || install.files.length + (install.before?.files.length ?? 0) === 0);
      const same = target.model !== undefined && current !== undefined && sameDeployment(current, target);
      // The new generation, the largest record, is written before any process is touched (its
      // number in the journal first): a full disk fails the switch with nothing stopped.
      const writeFirst = !changesNothing && target.model !== undefined && target.only === undefined && !same;
      let written: number | undefined;
      if (!changesNothing) {
        const next = writeFirst ? state.nextGeneration() : undefined;
        state.writeJournal({
          ...identityOf(process.pid)!,
          startedAt: new Date().toISOString(),
          command: options.command,
          install: { before: install.before ?? null, after: install.after ?? null },
          ...(next !== undefined ? { generation: next } : {}),
        });
        if (next !== undefined) {
          try {
            written = writeNewGeneration(state, target, next);
          } catch (error) {
            state.removeGeneration(next);
            state.clearJournal();
            throw error;
          }
        }
      }
      const applied = new Applied();
      try {
        await apply(state, backend, plan, install, desired, applied, interrupts, release!, onEvent, options.command === "stop", target.only?.kind === "stop");
      } catch (error) {
        if (options.command === "stop") {
          // A stop is never undone: what could not be stopped is named and the journal makes the
          // next command look again.
          throw error;
        }
        const failures = await undo(backend, install, previous, observed, applied, onEvent);
        if (written !== undefined) state.removeGeneration(written);
        state.clearJournal();
        throw undoneError(error, failures, interrupts);
      }

      let generation: number | undefined = pointer?.generation;
      try {
        if (target.model !== undefined) backend.commit?.(target.model);
        if (target.only !== undefined && pointer !== undefined) {
          const stopped = new Set(pointer.stopped ?? []);
          if (target.only.kind === "stop") for (const step of plan.stop) stopped.add(step.name);
          else for (const step of plan.start) stopped.delete(step.name);
          state.setCurrent({ generation: pointer.generation, active: pointer.active, ...(stopped.size > 0 ? { stopped: [...stopped] } : {}) });
        } else if (target.model !== undefined) {
          if (!same || !active) generation = same ? current!.generation : (written ??= writeNewGeneration(state, target));
          // Unchanged (a no-op switch): the pointer is not rewritten.
          if (!(same && active && pointer !== undefined && pointer.stopped === undefined)) state.setCurrent({ generation: generation!, active: true });
        } else if (target.model === undefined) {
          if (pointer !== undefined) state.setCurrent({ generation: pointer.generation, active: false });
        }
      } catch (error) {
        // Recording failed (a full disk): what ran before must run again, or exit 1 would lie.
        if (options.command === "stop") throw error; // the journal makes the next command look again
        if (written !== undefined) state.removeGeneration(written);
        const failures = await undo(backend, install, previous, observed, applied, onEvent);
        state.clearJournal();
        throw undoneError(error, failures, interrupts);
      }
      state.clearJournal();
      const interrupted = interrupts.received();
      if (interrupted !== undefined && options.command === "stop") {
        onEvent({ type: "done", generation, ms: Date.now() - began });
        throw new InterruptedError(interrupted, "the stop was completed first");
      }
      // The supervisor takes over (still under the lock): what it decides at once, such as a
      // restart of a process that died during this command, is reported before "done".
      finished = true;
      await backend.finish?.(true, supervise, onEvent);
      onEvent({ type: "done", generation, ms: Date.now() - began });
      return { plan, generation };
    } finally {
      if (!finished) await backend.finish?.(false, "none", onEvent);
    }
  } finally {
    interrupts.dispose();
    await release?.();
  }
}

/** The target's generation record (`generation`: the number the journal names). */
function writeNewGeneration(state: StateDir, target: Target, generation?: number): number {
  return state.writeGeneration(target.model!, target.manager, target.modelFile, target.rollbackOf, target.prefix, target.supervise, target.installDir, generation);
}

/** A direct deployment with anything to restart or check gets a supervisor, unless switched without. */
function wantsSupervisor(target: Target): SupervisionMode {
  if (target.manager !== "direct" || target.model === undefined || target.supervise === false) return "none";
  if (target.foreground === true) return "foreground";
  return target.model.processes.some((spec) => spec.restart.policy !== "no" || spec.liveness !== undefined) ? "detached" : "none";
}

/** What should run after the command: the target model, or for NAME commands the current one. */
function desiredModel(target: Target, context: ResolvedModel["context"]): ResolvedModel {
  return target.model ?? { context, processes: [] };
}

/**
 * start/stop/restart NAME act on what is deployed: stop takes the running transitive dependents
 * first; start brings up the missing dependencies first; restart takes the dependents along, like
 * a change. Everything else is kept as it is.
 */
function planOnly(only: OnlyChange, model: ResolvedModel, observed: ReadonlyMap<string, { state: string }>): Plan {
  const running = (name: string) => observed.get(name)?.state === "running";
  const named = new Set(only.names);
  const first = only.names[0]!;
  const why = (name: string): PlanReason =>
    named.has(name) ? { kind: "operator", command: only.kind } : only.kind === "start" ? { kind: "dependency-of", name: first } : { kind: "dependent-of", name: first };
  const stopSet = only.kind === "start" ? new Set<string>() : new Set([...withTransitiveDependents(model.processes, only.names)].filter(running));
  const startSet = new Set<string>();
  if (only.kind !== "stop") {
    const specs = new Map(model.processes.map((spec) => [spec.name, spec]));
    const pending = [...only.names];
    while (pending.length > 0) {
      const name = pending.pop()!;
      if (startSet.has(name)) continue;
      if (!named.has(name) && running(name)) continue;
      startSet.add(name);
      pending.push(...(specs.get(name)?.activatesAfter ?? []));
    }
    if (only.kind === "start") for (const name of [...startSet]) if (running(name)) startSet.delete(name);
    if (only.kind === "restart") for (const name of stopSet) startSet.add(name);
  }
  const order = activationOrder(model.processes);
  return {
    stop: [...order].reverse().filter((name) => stopSet.has(name)).map((name) => ({ name, reason: why(name) })),
    start: order.filter((name) => startSet.has(name)).map((name) => ({ name, reason: why(name) })),
    keep: order.filter((name) => !stopSet.has(name) && !startSet.has(name)).map((name) => ({ name, reason: { kind: "unchanged" } as const })),
    forget: [],
    stopEdges: model.processes
      .filter((spec) => stopSet.has(spec.name))
      .map(({ name, activatesAfter }) => ({ name, activatesAfter: activatesAfter.filter((dependency) => stopSet.has(dependency)) })),
  };
}

/**
 * Processes the previous generation does not know (an interrupted first switch left them) still
 * stop dependents first: their records keep what they activatesAfter.
 */
function withRecordedOrder(plan: Plan, previous: ResolvedModel | undefined, recorded: readonly DependencyEdges[]): Plan {
  const known = new Set((previous?.processes ?? []).map((spec) => spec.name));
  const stopping = new Set(plan.stop.map((step) => step.name));
  const extra = recorded.filter((edge) => !known.has(edge.name) && stopping.has(edge.name));
  if (extra.length === 0) return plan;
  const extraNames = new Set(extra.map((edge) => edge.name));
  const edges = [
    ...plan.stopEdges.filter((edge) => !extraNames.has(edge.name)),
    ...extra.map(({ name, activatesAfter }) => ({ name, activatesAfter: activatesAfter.filter((dependency) => stopping.has(dependency)) })),
  ];
  const reasons = new Map(plan.stop.map((step) => [step.name, step.reason]));
  const order = activationOrder(edges).reverse().filter((name) => stopping.has(name));
  return { ...plan, stop: order.map((name) => ({ name, reason: reasons.get(name)! })), stopEdges: edges };
}

/** True when the switch changes nothing that a generation records (the model file path aside). */
function sameDeployment(current: GenerationRecord, target: Target): boolean {
  return (
    current.processManager === target.manager &&
    (current.prefix ?? "procman") === target.prefix &&
    current.installDir === target.installDir &&
    (current.supervise ?? true) === (target.supervise ?? true) &&
    JSON.stringify(current.model.processes) === JSON.stringify(target.model!.processes) &&
    JSON.stringify({ ...current.model.context, modelDir: "" }) === JSON.stringify({ ...target.model!.context, modelDir: "" })
  );
}

/** What apply did so far, for the undo. */
class Applied {
  readonly stopped: string[] = [];
  readonly started: string[] = [];
  installed = false;
}

async function apply(
  state: StateDir,
  backend: Backend,
  plan: Plan,
  install: InstallChange,
  desired: ResolvedModel,
  applied: Applied,
  interrupts: Interrupts,
  lock: LockRelease,
  onEvent: EventSink,
  completeOnInterrupt: boolean,
  operatorStop: boolean,
): Promise<void> {
  const abort = new AbortController();
  const onInterrupt = () => abort.abort();
  if (!completeOnInterrupt) interrupts.signal.addEventListener("abort", onInterrupt);
  lock.signal.addEventListener("abort", onInterrupt);
  const context: StepContext = { signal: abort.signal, onEvent, operatorStop };
  const check = () => {
    const received = interrupts.received();
    if (received !== undefined && !completeOnInterrupt) throw new InterruptedError(received, "undone");
    // Another procman may act on this state dir now: nothing more may change.
    if (lock.signal.aborted || !lock.isHeld()) throw new LockLostError(state.lib);
  };
  try {
    for (const step of plan.forget) {
      await backend.forget(step.name);
      onEvent({ type: "forgotten", name: step.name, reason: step.reason });
    }
    check();
    // Restarted only because what it activatesAfter changed, with its own files unchanged: a
    // manager that can restarts it in place once its dependencies are ready (launchd kickstart -k).
    const wanted = new Set(desired.processes.map((spec) => spec.name));
    const inPlace = new Set(
      backend.restartsInPlace === true ? plan.stop.filter((step) => wanted.has(step.name) && !install.changed.has(step.name)).map((step) => step.name) : [],
    );
    await stopInOrder(backend, { ...plan, stop: plan.stop.filter((step) => !inPlace.has(step.name)) }, context, applied, completeOnInterrupt);
    // Stopping everything: the shutdown right after sweeps for what they left, in the same scan.
    await backend.afterStops?.(applied.stopped, { shutdownFollows: desired.processes.length === 0 && backend.shutdown !== undefined });
    // Stopping everything: the manager goes before its files (supervisorctl needs its config).
    if (desired.processes.length === 0) await backend.shutdown?.();
    check();
    if (install !== NO_CHANGE && install.files.length + (install.before?.files.length ?? 0) > 0) {
      applied.installed = true;
      await backend.install(install);
    }
    check();
    await startInOrder(backend, desired, plan, context, applied, inPlace);
    check();
  } finally {
    interrupts.signal.removeEventListener("abort", onInterrupt);
    lock.signal.removeEventListener("abort", onInterrupt);
  }
}

async function stopInOrder(backend: Backend, plan: Plan, context: StepContext, applied: Applied, announceAll = false): Promise<void> {
  const reasons = new Map(plan.stop.map((step) => [step.name, step.reason]));
  // A stop command means every one of them to go (it is completed, never undone): announced at
  // once. A switch that fails midway keeps what it did not stop, unannounced.
  if (announceAll && plan.stop.length > 0) await backend.expectStops?.(plan.stop.map((step) => step.name), context);
  // A process stops once everything that activatesAfter it has stopped.
  const dependents = new Map<string, string[]>();
  for (const { name, activatesAfter } of plan.stopEdges) {
    for (const dependency of activatesAfter) dependents.set(dependency, [...(dependents.get(dependency) ?? []), name]);
  }
  await runAsReady(
    plan.stop.map((step) => step.name),
    (name) => dependents.get(name) ?? [],
    async (name) => {
      await backend.stop(name, context, reasons.get(name) ?? { kind: "undo" });
      applied.stopped.push(name);
    },
  );
}

async function startInOrder(
  backend: Backend,
  model: ResolvedModel,
  plan: Plan,
  context: StepContext,
  applied: Applied,
  inPlace: ReadonlySet<string> = new Set(),
): Promise<void> {
  const specs = new Map(model.processes.map((spec) => [spec.name, spec]));
  const reasons = new Map(plan.start.map((step) => [step.name, step.reason]));
  const starting = new Set(reasons.keys());
  const stoppedNow = new Set(applied.stopped);
  const waitsFor = (name: string) => (starting.has(name) ? specs.get(name)!.activatesAfter.filter((dependency) => starting.has(dependency)) : []);
  const awaited = new Set([...starting].flatMap(waitsFor));
  const request = (name: string) => {
    const spec = specs.get(name)!;
    context.onEvent({ type: "starting", name, reason: reasons.get(name) ?? { kind: "undo" } });
    return { spec, restartInPlace: inPlace.has(name) && !stoppedNow.has(name), awaited: awaited.has(name) };
  };
  if (backend.startsInBatches) {
    // One layer at a time, each layer in one call.
    const done = new Set<string>();
    const order = plan.start.map((step) => step.name);
    while (done.size < order.length) {
      const layer = order.filter((name) => !done.has(name) && waitsFor(name).every((dependency) => done.has(dependency)));
      if (layer.length === 0) throw new Error(`could not order: ${order.filter((name) => !done.has(name)).join(", ")}`);
      if (context.signal.aborted) throw new SwitchFailedError("aborted");
      const requests = layer.map(request);
      applied.started.push(...layer);
      await backend.start(requests, context);
      for (const name of layer) done.add(name);
    }
    return;
  }
  try {
    await runAsReady(
      plan.start.map((step) => step.name),
      waitsFor,
      async (name, signal) => {
        applied.started.push(name);
        await backend.start([request(name)], { ...context, signal });
      },
      context.signal,
    );
  } catch (error) {
    await backend.settleStarts?.(context, true);
    throw error;
  }
  await backend.settleStarts?.(context, false);
}

/**
 * Stops what this transaction started, puts the previous files back, and starts again everything
 * that ran before and does not now (not only what this transaction stopped itself: systemd stops
 * the units that Requires= a stopped one). Each step that fails is named, none stops the others.
 */
async function undo(
  backend: Backend,
  install: InstallChange,
  previous: ResolvedModel | undefined,
  observedBefore: ReadonlyMap<string, { state: string }>,
  applied: Applied,
  onEvent: EventSink,
): Promise<string[]> {
  const failures: string[] = [];
  const abort = new AbortController();
  const context: StepContext = { signal: abort.signal, onEvent };
  onEvent({ type: "undoing", message: `stopping ${applied.started.length} started, restarting ${applied.stopped.length} stopped` });
  // What no longer runs needs no stop; when the backend cannot tell, every started one is stopped.
  const now = await backend.observe().catch(() => undefined);
  for (const name of [...applied.started].reverse()) {
    try {
      // Died on its own (the failure, often): its record goes, or status lists it under the old generation.
      if (now !== undefined && now.get(name)?.state !== "running") await backend.forget(name);
      else await backend.stop(name, context, { kind: "undo" });
    } catch (error) {
      failures.push(`stop ${name}: ${(error as Error).message}`);
    }
  }
  try {
    await backend.afterStops?.(applied.started); // what the undone starts left (setsid'd, double-forked)
  } catch (error) {
    failures.push(`stop what ${applied.started.join(", ")} left running: ${(error as Error).message}`);
  }
  if (previous === undefined && (applied.started.length > 0 || applied.installed)) {
    // A failed first deploy leaves nothing behind: the manager itself goes too, before its files.
    try {
      await backend.shutdown?.();
    } catch (error) {
      failures.push(`shut the manager down: ${(error as Error).message}`);
    }
  }
  if (applied.installed) {
    try {
      await backend.install(await backend.prepare(previous, { installed: install.after, check: false }));
    } catch (error) {
      failures.push(`restore the installed files: ${(error as Error).message}`);
    }
  }
  if (previous !== undefined) {
    const after = await backend.observe().catch(() => new Map<string, { state: string }>());
    const back = previous.processes.filter((spec) => observedBefore.get(spec.name)?.state === "running" && after.get(spec.name)?.state !== "running");
    const names = new Set(back.map((spec) => spec.name));
    const plan: Plan = { stop: [], start: back.map((spec) => ({ name: spec.name, reason: { kind: "undo" } as const })), keep: [], forget: [], stopEdges: [] };
    try {
      await startInOrder(backend, { ...previous, processes: previous.processes.filter((spec) => names.has(spec.name)) }, plan, context, new Applied());
    } catch (error) {
      failures.push(`restart ${[...names].join(", ")}: ${(error as Error).message}`);
    }
  }
  for (const failure of failures) onEvent({ type: "undoing", message: `could not restore: ${failure}` });
  return failures;
}

function undoneError(error: unknown, failures: readonly string[], interrupts: Interrupts): Error {
  const interrupted = interrupts.received();
  const suffix = failures.length === 0 ? "" : `; the undo could not restore: ${failures.join("; ")}`;
  if (interrupted !== undefined) return new InterruptedError(interrupted, `undone${suffix}`);
  if (failures.length === 0) return error as Error;
  return new SwitchFailedError(`${(error as Error).message}${suffix}`);
}

export type { ResolvedProcess };
