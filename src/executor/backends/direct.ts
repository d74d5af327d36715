// The direct process manager as a backend of the transaction: procman spawns, records, checks and
// stops the processes itself. A record is written right after each spawn and every spawn is
// tagged, so a crash at any instant leaves either a record or a tagged process the recovery finds.
import type { ResolvedModel, ResolvedProcess } from "../../model/types.js";
import type { ObservedProcess } from "../../plan/plan.js";
import { specHash } from "../../plan/spec-hash.js";
import type { Backend, StartRequest, StepContext, SupervisionMode } from "../backend.js";
import type { EventSink } from "../events.js";
import { NO_CHANGE } from "../install-record.js";
import { ProcmanError } from "../../errors.js";
import { StartError, logTail, tagFor, type Launched } from "../launch.js";
import { launchRecorded, recordOf } from "../start-process.js";
import { SupervisorLink } from "./supervision.js";
import { scanTagged, stopEveryTagged, sweepSettingsOf, sweepTagged, tagName, taggedForDir, unrecordedLeaders, type SweepSettings } from "../tag-sweep.js";
import { checkIdentity, stillRuns } from "../proc.js";
import { AbandonedError, NotReadyError, probeReadiness, waitUntilReady } from "../readiness.js";
import type { StateDir, ProcessRecord } from "../state-dir.js";
import { SpawnRunner } from "../spawn-runner.js";
import { writeFileAtomic } from "../atomic.js";
import { readPidLine } from "../safe-file.js";
import { checkServiceFileDir } from "../dir-trust.js";
import { SwitchFailedError } from "../switch-result.js";
import { terminate } from "../terminate.js";
import { runAsReady } from "../schedule.js";
import { lastLook, type Unawaited } from "../last-look.js";

/** `startForeground`: procman up's in-process supervisor, started when the first spawn needs it. */
export function directBackend(state: StateDir, startForeground?: () => Promise<void>): Backend {
  const link = new SupervisorLink(state.stateDir, startForeground);
  let supervise: SupervisionMode = "none";
  // Lenient: a damaged record must not stop `stop` (its process is found by the tag at shutdown).
  let records = new Map<string, ProcessRecord>();
  // A damaged record file may have lost a record whose process still runs: found by its tag.
  let damaged = false;
  const reread = () => {
    const read = state.readRecordsLenient();
    records = read.records;
    damaged ||= read.damaged.length > 0;
    return records;
  };
  reread();
  const tagOf = (record: ProcessRecord) => tagFor(record.name, record.specHash, state.stateDir);
  const stoppedRecords = new Map<string, ProcessRecord>();
  const forgotten = new Map<string, ProcessRecord>();
  /** Tags whose leftovers the shutdown's sweep stops with their own stop settings. */
  const swept = new Map<string, SweepSettings>();
  const expectStop = coalesced((names: string[], operator: boolean) => link.expectStop(names, operator));
  const removeRecord = removedTogether(state);
  // Names the supervisor was told of for the whole plan (expectStops): their stops need not tell it again.
  const announced = new Set<string>();
  // Fork this command's starts and its readiness commands (made on first use, ended with the
  // command): two shells, so that starts never queue behind a layer's polls.
  let runner: SpawnRunner | undefined;
  let checker: SpawnRunner | undefined;
  // Started with the default check, and no other start waits for them: looked at in settleStarts.
  const unawaited: Unawaited[] = [];

  return {
    manager: "direct",
    startsInBatches: false,
    hashOf: specHash,
    recordedEdges: () => [...records.values()].map((record) => ({ name: record.name, activatesAfter: record.activatesAfter ?? [] })),

    recover: (onEvent, target, unknown) => recoverInterrupted(state, onEvent, target, unknown === true),
    stopUnrecorded: (onEvent) => stopUnrecordedLeaders(state, state.readRecordsLenient().records, onEvent, "left running by a deployment whose records are gone"),

    observe: async () => {
      const observed = new Map<string, ObservedProcess>();
      for (const record of reread().values()) {
        const identity = checkIdentity(record);
        // A paused process is still the one procman started: kept, not started a second time.
        observed.set(record.name, { name: record.name, specHash: record.specHash, state: identity === "paused" ? "running" : identity });
      }
      return observed;
    },

    prepare: async () => NO_CHANGE,
    install: async () => undefined,

    reload: async (spec) => {
      const record = reread().get(spec.name);
      // Only the process procman started, verified right before the signal (never a reused PID).
      if (record === undefined || !stillRuns(checkIdentity(record))) return false;
      try {
        process.kill(record.pid, spec.stop.reloadSignal as NodeJS.Signals);
      } catch {
        return false;
      }
      return true;
    },

    forget: async (name) => {
      const record = records.get(name);
      if (record === undefined) return;
      // Its PID is never signalled (terminate verifies it first), but what it left in its group goes.
      await terminate({ ...record, tag: tagOf(record) });
      state.removeRecord(name);
      forgotten.set(tagOf(record), record); // a dead process's setsid'd children go with the next sweep
    },

    stop: async (name, context, reason) => {
      const record = records.get(name) ?? reread().get(name);
      if (record === undefined) return;
      const began = Date.now();
      context.onEvent({ type: "stopping", name, pid: record.pid, reason });
      if (!announced.delete(name)) await expectStop(name, context.operatorStop === true);
      const outcome = await terminate({ ...record, tag: tagOf(record) });
      await removeRecord(name);
      stoppedRecords.set(name, record);
      context.onEvent({ type: "stopped", name, pid: record.pid, ms: Date.now() - began, killed: outcome === "killed" });
    },

    expectStops: async (names, context) => {
      await link.expectStop(names, context.operatorStop === true);
      for (const name of names) announced.add(name);
    },

    begin: async (wanted) => {
      supervise = wanted;
      await link.begin();
    },

    finish: async (ok, wanted, onEvent) => {
      runner?.close();
      checker?.close();
      runner = checker = undefined;
      if (ok && damaged) {
        // Every process now has a good record; what runs under a tag of a name without one lost
        // its record to the damage: it goes, and the damaged lines with it.
        await stopUnrecorded(state.stateDir, reread(), undefined, onEvent);
        state.compact({ dropDamagedLines: true });
      }
      if (ok) for (const event of await link.finish(wanted)) onEvent(event);
      else await link.abandon();
    },

    start: async (requests, context) => {
      const shells = { spawner: () => (runner ??= new SpawnRunner()), checker: () => (checker ??= new SpawnRunner()) };
      // What it recorded joins the records read at the start (no re-read of the whole log per start).
      for (const request of requests) {
        // Its record may be among the damaged: an instance running on its tag goes before a second starts.
        if (damaged && !records.has(request.spec.name)) await stopUnrecorded(state.stateDir, records, request.spec, context.onEvent);
        records.set(request.spec.name, await startOne(state, request, context, records, link, supervise !== "none", shells, unawaited));
      }
    },

    settleStarts: async (context, abandon) => {
      const batch = unawaited.splice(0);
      if (!abandon) return lastLook(batch, context.onEvent, context.signal);
      // Written before the undo stops them (a stop removes the PID file naming it; a late write would stay).
      await Promise.allSettled(batch.map((entry) => entry.launched.pidFileWritten));
    },

    // One sweep per command for what the stopped processes left (setsid'd children, daemon workers).
    afterStops: async (names, options) => {
      const targets = new Map(forgotten);
      forgotten.clear();
      for (const name of names) {
        const record = stoppedRecords.get(name);
        if (record !== undefined) targets.set(tagOf(record), record);
      }
      // Everything stops: shutdown's one scan for every tag of this state dir covers these too.
      if (options?.shutdownFollows === true) for (const [tag, record] of targets) swept.set(tag, record);
      else if (targets.size > 0) await sweepTagged(targets);
    },

    /** After stopping everything: whatever still carries a tag of this state dir goes too. */
    shutdown: async () => {
      await link.shutdown();
      await stopEveryTagged(state.stateDir, swept);
      swept.clear();
    },

    /** A kept process runs on, but how to stop it may have changed: its record takes the new settings. */
    commit: (model) => {
      const current = reread();
      for (const spec of model.processes) {
        const record = current.get(spec.name);
        if (record === undefined || record.specHash !== specHash(spec)) continue;
        if (record.stopSignal !== spec.stop.signal || record.stopTimeout !== spec.stop.timeout || !sameList(record.activatesAfter, spec.activatesAfter)) {
          state.writeRecord({ ...record, stopSignal: spec.stop.signal, stopTimeout: spec.stop.timeout, activatesAfter: spec.activatesAfter });
        }
      }
    },
  };
}

/**
 * The independent stops of one tick announce themselves to the supervisor in one request, not one
 * each: the supervisor persists its state once per request.
 */
function coalesced(send: (names: string[], operator: boolean) => Promise<void>): (name: string, operator: boolean) => Promise<void> {
  const pending = new Map<boolean, { names: string[]; sent: Promise<void> }>();
  return (name, operator) => {
    let batch = pending.get(operator);
    if (batch === undefined) {
      const names: string[] = [];
      const sent = Promise.resolve().then(() => {
        pending.delete(operator);
        return send(names, operator);
      });
      pending.set(operator, (batch = { names, sent }));
    }
    batch.names.push(name);
    return batch.sent;
  };
}

/**
 * The records of the stops that end in the same round (one poller round settles many) go in one
 * append: flushed in setImmediate, before the stop reports the process stopped.
 */
function removedTogether(state: StateDir): (name: string) => Promise<void> {
  let pending: { names: string[]; written: Promise<void> } | undefined;
  return (name) => {
    if (pending === undefined) {
      const names: string[] = [];
      const written = new Promise<void>((resolve, reject) =>
        setImmediate(() => {
          pending = undefined;
          try {
            state.removeRecords(names);
            resolve();
          } catch (error) {
            reject(error);
          }
        }),
      );
      pending = { names, written };
    }
    pending.names.push(name);
    return pending.written;
  };
}

function sameList(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return a !== undefined && a.length === b.length && a.every((item, index) => item === b[index]);
}

async function startOne(
  state: StateDir,
  { spec, awaited }: StartRequest,
  context: StepContext,
  records: ReadonlyMap<string, ProcessRecord>,
  link: SupervisorLink,
  supervise: boolean,
  shells: { readonly spawner: () => SpawnRunner; readonly checker: () => SpawnRunner },
  unawaited: Unawaited[],
): Promise<ProcessRecord> {
  const { onEvent } = context;
  const began = Date.now();
  let launched: Launched;
  let record: ProcessRecord;
  try {
    // Spawned by the supervisor, it is the supervisor's child and its exit status is known. A
    // notify descriptor cannot cross the control socket: such a process is adopted instead.
    if (supervise && spec.readiness.kind !== "notify") {
      await link.ensure();
      launched = await link.spawn(spec, specHash(spec));
      record = recordOf(spec, launched);
    } else {
      ({ launched, record } = await launchRecorded(spec, state.stateDir, records, link.pid !== undefined ? [link.pid] : [], shells.spawner()));
    }
  } catch (error) {
    const message = error instanceof StartError || error instanceof ProcmanError ? error.message : String(error);
    const offset = error instanceof StartError ? error.logOffset : undefined;
    onEvent({ type: "failed", name: spec.name, message, logTail: offset === undefined ? "" : logTail(spec.logFile, offset) });
    throw new SwitchFailedError(`${spec.name}: ${message}`);
  }
  try {
    state.writeRecord(record);
  } catch (error) {
    // Unrecorded, it would run on untracked and be started twice: stop it before failing.
    await launched.pidFileWritten?.catch(() => undefined);
    await terminate({ ...record, tag: tagFor(record.name, record.specHash, state.stateDir) });
    const message = `cannot write its record: ${(error as Error).message}`;
    onEvent({ type: "failed", name: spec.name, message, logTail: "" });
    throw new SwitchFailedError(`${spec.name}: ${message}`);
  }
  onEvent({ type: "started", name: spec.name, pid: record.pid });
  if (awaited === false && spec.readiness.kind === "started") {
    unawaited.push({ spec, record, launched, began, known: performance.now() });
    return record;
  }
  await readyOrFail(spec, record, launched, state.stateDir, onEvent, context.signal, began, spec.readiness.kind === "command" ? shells.checker() : undefined);
  return record;
}

async function readyOrFail(
  spec: ResolvedProcess,
  record: ProcessRecord,
  launched: Launched,
  stateDir: string,
  onEvent: EventSink,
  signal: AbortSignal,
  began: number,
  runner: SpawnRunner | undefined,
): Promise<void> {
  try {
    await waitUntilReady(spec, record, launched.logOffset, signal, {
      tag: tagFor(record.name, record.specHash, stateDir),
      pgid: launched.pgid,
      sid: launched.sid,
      exit: launched.exit,
      ...(launched.notify !== undefined ? { notify: launched.notify } : {}),
      ...(runner !== undefined ? { runner } : {}),
    });
    await launched.pidFileWritten;
  } catch (error) {
    // Written before anything stops it (a stop removes the PID file naming it; a late write would stay).
    await launched.pidFileWritten?.catch(() => undefined);
    if (error instanceof AbandonedError) throw error; // the failure that caused it is reported
    const message = error instanceof NotReadyError || error instanceof StartError ? error.message : String(error);
    onEvent({ type: "failed", name: spec.name, message, logTail: logTail(spec.logFile, launched.logOffset) });
    throw new SwitchFailedError(`${spec.name}: ${message}`);
  }
  onEvent({ type: "ready", name: spec.name, pid: record.pid, ms: Date.now() - began });
}

/**
 * A journal left behind means a procman died mid-command. Its records are trustworthy (written
 * atomically right after each spawn); what may be missing is the record of a process spawned just
 * before the crash. Such a process carries procman's tag: stop it, the plan starts it cleanly. A
 * process recorded during the interrupted run that is not ready now may have been cut short before
 * its readiness passed: it is stopped too, and started again by the plan. `target`: the model this
 * command deploys — the interrupted run may have been starting it (a first switch has no
 * generation; a changed process's record has the new spec's hash).
 */
async function recoverInterrupted(state: StateDir, onEvent: EventSink, target: ResolvedModel | undefined, unknown: boolean): Promise<void> {
  const journal = state.readJournal();
  if (journal === undefined) return;
  const records = state.readRecordsLenient().records; // what a damaged line lost runs on a tag: stopped below
  await stopUnrecordedLeaders(state, records, onEvent, "started by an interrupted procman but never recorded");
  await stopUnconfirmed(state, records, journal.startedAt, onEvent, target, unknown);
  restorePidFiles(state, journal.startedAt);
}

/** Tagged session leaders of this state dir that no record names (a lost spawn, lost records): stopped. */
async function stopUnrecordedLeaders(state: StateDir, records: ReadonlyMap<string, ProcessRecord>, onEvent: EventSink, why: string): Promise<void> {
  const stops: Promise<unknown>[] = [];
  for (const { name, pid, startTime, tag } of unrecordedLeaders(state.stateDir, [...records.values()])) {
    onEvent({ type: "recovering", message: `stopping ${name} (PID ${pid}), ${why}` });
    // All at once (no record says their order): one shared poller waits for them.
    stops.push(terminate({ name, pid, startTime, stopSignal: "SIGTERM", stopTimeout: 10, tag }));
  }
  const failed = (await Promise.allSettled(stops)).find((result) => result.status === "rejected");
  if (failed !== undefined) throw failed.reason;
}

/**
 * A start's PID file is written after its record (off procman's thread, before it counts as
 * ready): a procman killed in between leaves a recorded process without it. What runs on gets it.
 */
function restorePidFiles(state: StateDir, since: string): void {
  for (const record of state.readRecordsLenient().records.values()) {
    if (record.mode !== "foreground" || record.startedAt < since || !stillRuns(checkIdentity(record))) continue;
    let text: string | undefined;
    try {
      checkServiceFileDir(record.pidFile);
    } catch {
      continue; // a directory above it is no longer procman's to write in
    }
    try {
      text = readPidLine(record.pidFile);
    } catch {
      text = undefined;
    }
    if (text === String(record.pid)) continue;
    try {
      writeFileAtomic(record.pidFile, `${record.pid}\n`, 0o644, false);
    } catch {
      // Its directory is gone or unwritable: the record still says what runs.
    }
  }
}

/**
 * Records written during the interrupted run whose process does not pass its readiness now, by the
 * spec it was started from (the current generation's or the target's, whichever has its hash).
 * `unknown`: also those started from neither (a `start`/`restart NAME` would take one for a ready
 * dependency; a `stop NAME` leaves them, it touches only what it names). What runs on any of them
 * goes too, dependents first: the plan starts all of them again in order.
 */
async function stopUnconfirmed(
  state: StateDir,
  records: ReadonlyMap<string, ProcessRecord>,
  since: string,
  onEvent: EventSink,
  target: ResolvedModel | undefined,
  unknown: boolean,
): Promise<void> {
  const pointer = state.readCurrent();
  const specs = new Map<string, ResolvedProcess>();
  const know = (processes: readonly ResolvedProcess[]) => {
    for (const spec of processes) specs.set(`${spec.name}\0${specHash(spec)}`, spec);
  };
  try {
    if (pointer !== undefined) know(state.readGeneration(pointer.generation).model.processes);
  } catch {
    // No readable generation: only the target to check readiness against.
  }
  know(target?.processes ?? []);
  const going = new Map<string, ProcessRecord>();
  const live = [...records.values()].filter((record) => stillRuns(checkIdentity(record)));
  for (const record of live) {
    if (record.startedAt < since) continue;
    const spec = specs.get(`${record.name}\0${record.specHash}`);
    if (spec === undefined && !unknown) continue;
    const tag = tagFor(record.name, record.specHash, state.stateDir);
    if (spec !== undefined && (await probeReadiness(spec, { pid: record.pid, tag, ...(record.pgid !== undefined ? { pgid: record.pgid } : {}), ...(record.sid !== undefined ? { session: record.sid } : {}) }))) continue;
    const why = spec === undefined ? "started by the interrupted run from a spec this command does not deploy" : "its start was cut short before it was ready";
    onEvent({ type: "recovering", message: `stopping ${record.name} (PID ${record.pid}): ${why}` });
    going.set(record.name, record);
  }
  // What activatesAfter one of them (transitively) goes with it: never left on a dependency stopped under it.
  for (let grew = going.size > 0; grew; ) {
    grew = false;
    for (const record of live) {
      if (going.has(record.name) || !(record.activatesAfter ?? []).some((dependency) => going.has(dependency))) continue;
      onEvent({ type: "recovering", message: `stopping ${record.name} (PID ${record.pid}): it activates after a process stopped above` });
      going.set(record.name, record);
      grew = true;
    }
  }
  // Dependents first, as every stop: a record says what it activatesAfter.
  const dependents = new Map<string, string[]>();
  for (const record of going.values()) {
    for (const dependency of record.activatesAfter ?? []) dependents.set(dependency, [...(dependents.get(dependency) ?? []), record.name]);
  }
  await runAsReady(
    [...going.keys()],
    (name) => dependents.get(name) ?? [],
    async (name) => {
      const record = going.get(name)!;
      await terminate({ ...record, tag: tagFor(record.name, record.specHash, state.stateDir) });
      state.removeRecord(name);
    },
  );
}

/**
 * Live processes tagged for this state dir whose name has no record (only `spec`'s name, when
 * given), stopped: their records were lost to a damaged file.
 */
async function stopUnrecorded(stateDir: string, records: ReadonlyMap<string, ProcessRecord>, spec: ResolvedProcess | undefined, onEvent: EventSink): Promise<void> {
  const lost = scanTagged((tag) => taggedForDir(tag, stateDir) && (spec === undefined ? !records.has(tagName(tag)) : tagName(tag) === spec.name));
  if (lost.length === 0) return;
  const settings: SweepSettings = spec !== undefined ? sweepSettingsOf(spec) : { stopSignal: "SIGTERM", stopTimeout: 10 };
  onEvent({ type: "recovering", message: `the records are damaged: stopping ${lost.map((found) => `${tagName(found.tag)} (PID ${found.pid})`).join(", ")}, running on a tag without a record` });
  await sweepTagged(new Map(lost.map((found) => [found.tag, settings])));
}
