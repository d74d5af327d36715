// The supervisor: keeps what the current generation declares running, as each process's `restart`
// and `liveness` say. It holds nothing that is not on disk: the generation and the process records
// (StateDir) say what should run and what runs; the supervision file says restarts, last exits,
// health, backoff and failed states. What it cannot know after a restart of its own (the exit status
// of a process it did not spawn) it treats as unknown, which `on-failure` counts as a failure.
//
// It never acts while another procman holds the state dir lock, nor while paused by one (pause()
// resolves once nothing of its own is in flight); requests (spawn, expectStop) are carried out even
// then: they come from the lock holder.
import { statSync } from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import { tagFor, wrapCommand, type Launched } from "../executor/launch.js";
import { launchRecorded, recordOf } from "../executor/start-process.js";
import { isExecutableFile } from "../executor/executable.js";
import { PERL } from "../executor/perl-runner.js";
import { SpawnRunner } from "../executor/spawn-runner.js";
import { checkIdentity, stillRuns } from "../executor/proc.js";
import { AbandonedError, NotReadyError, waitUntilReady } from "../executor/readiness.js";
import { StateDir, type ProcessRecord } from "../executor/state-dir.js";
import { sweepSettingsOf, sweepTagged } from "../executor/tag-sweep.js";
import { terminate } from "../executor/terminate.js";
import type { ResolvedProcess } from "../model/types.js";
import { livenessCheck, type Check } from "./liveness.js";
import { isHandoverEvent, type HandoverEvent } from "./protocol.js";
import { lockHeldByOther } from "./lock-watch.js";
import { FRESH, childExit, decide, describeExit, type ExitFacts } from "./policy.js";
import { rotateLog } from "./rotate.js";
import { RotationSchedule } from "./rotate-schedule.js";
import { freshEntry, readSupervisionFile, writeSupervisionFile, type SupervisionEntry, type SupervisionFile } from "./status-file.js";

/** The least time between two writes of the supervision file for a burst of spawns (persistSoon). */
const PERSIST_GAP_MS = 20;

export type SupervisorEvent =
  | { readonly type: "adopted"; readonly name: string; readonly pid: number }
  | { readonly type: "exited"; readonly name: string; readonly pid: number; readonly message: string }
  | { readonly type: "backoff"; readonly name: string; readonly delayMs: number; readonly nextRestartAt: string }
  | { readonly type: "restarting"; readonly name: string; readonly attempt: number }
  | { readonly type: "started"; readonly name: string; readonly pid: number }
  | { readonly type: "ready"; readonly name: string; readonly pid: number }
  | { readonly type: "failed"; readonly name: string; readonly message: string }
  | { readonly type: "unhealthy"; readonly name: string; readonly failures: number }
  | { readonly type: "healthy"; readonly name: string }
  | { readonly type: "rotated"; readonly name: string; readonly how: string }
  | { readonly type: "error"; readonly message: string };

export interface SupervisorOptions {
  readonly stateDir: string;
  /** Paused until resume() (as startSupervisor promises). */
  readonly startPaused?: boolean;
  readonly onEvent?: (event: SupervisorEvent) => void;
  /** How often processes that are not its children (adopted, daemons) are looked at in /proc. */
  readonly pollMs?: number;
  /** How often logs are measured for rotation. */
  readonly rotateMs?: number;
  /**
   * Whether it is still its state dir's supervisor (the detached one: its PID file names it),
   * asked before each look and each write. Once false it shuts down writing nothing, then tells
   * `onDisowned`: lib/procman was removed, and maybe another supervisor owns it since.
   */
  readonly stillOwned?: () => boolean;
  readonly onDisowned?: () => void;
}

interface ChildExit {
  readonly code: number | null;
  readonly signal: string | null;
  readonly at: number;
}

interface LivenessRun {
  readonly pid: number;
  readonly check: Check;
  failures: number;
  timer: NodeJS.Timeout | undefined;
}

/** Why procman itself stops a PID: its exit is then no crash. */
type StopCause = "expected" | "liveness";

export class Supervisor {
  readonly stateDir: string;
  private readonly state: StateDir;
  private readonly onEvent: (event: SupervisorEvent) => void;
  private readonly pollMs: number;
  private readonly rotateMs: number;
  private readonly stillOwned: (() => boolean) | undefined;
  private readonly onDisowned: () => void;

  private specs = new Map<string, ResolvedProcess>();
  private records = new Map<string, ProcessRecord>();
  private file: SupervisionFile = { generation: null, processes: Object.create(null) };

  /** Exits of its children, by PID (only a parent learns them). */
  private readonly exits = new Map<number, ChildExit>();
  private readonly exitWaiters = new Map<number, ((exit: { code: number | null; signal: string | null }) => void)[]>();
  /** PIDs that are its children: their exits arrive as events, /proc is not polled for them. */
  private readonly children = new Set<number>();
  /** Dead records already dealt with (by PID). */
  private readonly handled = new Set<number>();
  private readonly stopping = new Map<number, StopCause>();
  /** Names the lock holder is about to stop (operator: it asked for state "stopped"). */
  private readonly expecting = new Map<string, boolean>();
  /** When each process became ready (ms), for "stayed up maxDelay" and logWithin. */
  private readonly readyAt = new Map<string, number>();
  /** Restart due times (ms) of processes in backoff. */
  private readonly due = new Map<string, number>();
  private readonly starting = new Set<string>();
  private readonly liveness = new Map<string, LivenessRun>();

  private paused: boolean;
  private ended = false;
  private lockSeen = false;
  private diskStamp = "";
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private readinessAbort = new AbortController();
  private pollTimer: NodeJS.Timeout | undefined;
  private rotateTimer: NodeJS.Timeout | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private rotating = false;
  private readonly rotation: RotationSchedule;
  /** While resume() evaluates: what it emits, for the answer to the lock holder. */
  private collected: SupervisorEvent[] | undefined;
  /** Decisions taken while paused (a liveness check under way when the pause came failed), with
   *  the PID they were about: the hand-over reports them unless the lock holder replaced it. */
  private held: { readonly event: HandoverEvent; readonly pid: number | undefined }[] = [];
  private persistQueued: Promise<void> | undefined;
  /** Shut down as no longer its state dir's supervisor: it writes nothing there any more. */
  private disowned = false;
  private lastPersist = 0;
  /**
   * Forks its children where Perl is installed (perl-runner.ts, reaping: each exit is reported as
   * it happens): a fork of Perl per start instead of one of this process (libuv forks the whole
   * supervisor for every spawn).
   */
  private runner: SpawnRunner | undefined;
  /** Children forked by the runner: if it goes away, their exits will never be reported. */
  private readonly runnerChildren = new Set<number>();

  constructor(options: SupervisorOptions) {
    this.stateDir = options.stateDir;
    this.state = new StateDir(options.stateDir);
    const onEvent = options.onEvent ?? (() => undefined);
    this.onEvent = (event) => {
      if (this.collected !== undefined) this.collected.push(event);
      else if (this.paused && !this.ended && isHandoverEvent(event)) this.held.push({ event, pid: this.records.get(event.name)?.pid });
      onEvent(event);
    };
    this.pollMs = options.pollMs ?? 250;
    this.rotateMs = options.rotateMs ?? 1000;
    this.stillOwned = options.stillOwned;
    this.onDisowned = options.onDisowned ?? (() => undefined);
    this.paused = options.startPaused ?? false;
    this.reload(true);
    this.pollTimer = setInterval(() => this.tick(), this.pollMs);
    this.rotation = new RotationSchedule(this.rotateMs);
    this.scheduleRotation(this.rotateMs);
    if (!this.paused) this.tick();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  // ---- requests (from the lock holder) ----

  /** Stops acting on its own; resolves once nothing it started is in flight. */
  async pause(): Promise<void> {
    this.paused = true;
    this.readinessAbort.abort();
    this.readinessAbort = new AbortController();
    await this.idle();
  }

  /**
   * Re-reads the generation and the records, then acts again. `handover`: the lock holder itself
   * resumes it as its last step (it still holds the lock, and releases it next): the first look at
   * every process happens now, not after the release, and the decisions taken in it (what died
   * during the command, a backoff already due) are returned, for the command to report. Nothing
   * is awaited: a restart or liveness check that follows is in the log and in `status`.
   */
  resume(handover = false): HandoverEvent[] {
    if (this.ended) return [];
    const collected: SupervisorEvent[] = [];
    this.collected = collected;
    try {
      this.reload();
      const held = this.held;
      this.held = [];
      for (const { event, pid } of held) {
        const record = this.records.get(event.name);
        if (record !== undefined && record.pid === pid && !this.expecting.has(event.name)) collected.push(event);
      }
      this.expecting.clear();
      this.paused = false;
      if (handover) this.evaluate();
      else this.tick();
    } finally {
      this.collected = undefined;
    }
    return collected.filter(isHandoverEvent);
  }

  /**
   * The lock holder went away without handing over (killed mid-command): the stops it announced
   * are no longer anyone's, so a death among them is a death again, restarted as its policy says.
   * What an operator asked to stop stays stopped — `stop NAME`'s processes, and all of a `stop`
   * command's (its journal says so) — until the next switch or stop recovers. Then supervision
   * goes on.
   */
  holderGone(): void {
    let journal;
    try {
      journal = this.state.inspectJournal();
    } catch {
      journal = undefined; // an untrusted state dir: the next look ends this supervisor
    }
    const stopping = journal?.kind === "ok" && journal.value.command === "stop";
    for (const [name, operator] of stopping ? [] : [...this.expecting]) {
      if (operator) continue;
      this.expecting.delete(name);
      const record = this.records.get(name);
      if (record !== undefined && this.stopping.get(record.pid) === "expected") this.stopping.delete(record.pid);
    }
    this.resume();
  }

  /** A foreground child's exit status reaches its parent, this supervisor (or its runner); a daemon's never does. */
  private watchExit(spec: ResolvedProcess, launched: Launched, runner: SpawnRunner | undefined): void {
    // A daemon double-forked: what runs is not its child, and only /proc tells of its death.
    if (spec.mode !== "foreground") return;
    const pid = launched.pid; // not `launched`: held until the child exits, for each child
    void launched.exit.then(({ code, signal }) => this.childExited(pid, code, signal));
    if (this.exits.has(pid)) return;
    if (launched.viaRunner === true) {
      // The runner went away during the start: no exit will come, /proc tells.
      if (runner === undefined || runner !== this.runner) return;
      this.runnerChildren.add(pid);
    }
    this.children.add(pid);
  }

  private spawner(): SpawnRunner | undefined {
    if (this.runner !== undefined || this.ended || !isExecutableFile(PERL)) return this.runner;
    const runner = new SpawnRunner({
      kind: "perl",
      reap: true,
      onGone: () => {
        if (this.runner === runner) this.runner = undefined;
        // Their exits will never come: from now on /proc tells of their deaths, as of adopted ones.
        for (const pid of this.runnerChildren) this.children.delete(pid);
        this.runnerChildren.clear();
      },
    });
    this.runner = runner;
    return runner;
  }

  /** Spawns a process as its child (the caller waits for readiness and writes the record). */
  async spawn(spec: ResolvedProcess, _hash: string): Promise<Launched> {
    // The caller writes the record (with the same hash, which launchRecorded derives from the spec).
    const runner = this.spawner();
    const { launched } = await launchRecorded(spec, this.stateDir, this.state.peekRecords(), [process.pid], runner);
    this.watchExit(spec, launched, runner);
    this.expecting.delete(spec.name);
    this.readyAt.delete(spec.name);
    this.due.delete(spec.name);
    this.stopLiveness(spec.name);
    // A start by the operator or a switch: counters, failed and stopped states begin anew.
    this.file.processes[spec.name] = freshEntry(spec.liveness !== undefined);
    // On disk before the answer, but one write for a batch of spawns (a switch sends a ready batch
    // at once): a write of the whole file per spawn is O(N²) bytes and garbage for N processes.
    await this.persistSoon();
    return launched;
  }

  /** The lock holder is about to stop these: their exits are no failures (operator: state "stopped"). */
  expectStop(names: readonly string[], operator = false): void {
    for (const name of names) {
      this.expecting.set(name, operator);
      this.due.delete(name);
      this.stopLiveness(name);
      const record = this.records.get(name);
      if (record !== undefined) this.stopping.set(record.pid, "expected");
      if (operator) {
        const entry = this.entry(name);
        entry.state = "stopped";
        delete entry.nextRestartAt;
      }
    }
    this.persist();
  }

  /** Ends supervision: nothing more is started; resolves once nothing is in flight. */
  /** `persist: false`: its state dir is no longer its own (another supervisor may write there). */
  async shutdown(options: { readonly persist?: boolean } = {}): Promise<void> {
    this.paused = true;
    this.ended = true;
    this.readinessAbort.abort();
    clearInterval(this.pollTimer);
    clearTimeout(this.rotateTimer);
    clearTimeout(this.wakeTimer);
    for (const name of [...this.liveness.keys()]) this.stopLiveness(name);
    this.due.clear();
    if (options.persist === false) this.disowned = true;
    await this.idle();
    this.persist();
    this.runner?.close();
  }

  // ---- reading the disk ----

  /** `adopting`: the first look of a new supervisor, which takes over what runs. */
  private reload(adopting = false): void {
    const current = this.state.readCurrent();
    let specs = new Map<string, ResolvedProcess>();
    let generation: number | null = null;
    if (current !== undefined && current.active) {
      const record = this.state.readGeneration(current.generation);
      generation = current.generation;
      if (record.processManager === "direct") specs = new Map(record.model.processes.map((spec) => [spec.name, spec]));
    }
    const records = this.state.readRecordsLenient().records; // a damaged line: the next switch deals with it
    const file = readSupervisionFile(this.stateDir);
    if (file.generation !== generation) {
      // A new generation (a switch): counters, failed and stopped states begin anew.
      for (const [name, entry] of Object.entries(file.processes)) {
        file.processes[name] = { ...freshEntry(specs.get(name)?.liveness !== undefined), lastExit: entry.lastExit };
      }
      file.generation = generation;
    }
    for (const name of Object.keys(file.processes)) if (!specs.has(name)) delete file.processes[name];
    this.file = file;
    const before = this.records;
    this.specs = specs;
    this.records = records;
    const now = Date.now();
    for (const name of new Set([...before.keys(), ...records.keys(), ...this.due.keys(), ...this.liveness.keys()])) {
      const spec = specs.get(name);
      const record = records.get(name);
      const previous = before.get(name);
      const alive = record !== undefined && stillRuns(checkIdentity(record));
      if (spec === undefined || record === undefined || (this.expecting.has(name) && !alive)) {
        // Undeclared, gone from the records, or stopped by the lock holder: nothing to supervise.
        this.due.delete(name);
        this.stopLiveness(name);
        this.readyAt.delete(name);
        if (record !== undefined) this.handled.add(record.pid);
        continue;
      }
      const entry = this.entry(name);
      if (previous?.pid !== record.pid || previous.startTime !== record.startTime) {
        this.due.delete(name);
        this.stopLiveness(name);
        this.readyAt.delete(name);
        // Someone else started it since: whatever failed or waited before is over.
        if (alive && entry.state !== "stopped") {
          delete entry.state;
          delete entry.nextRestartAt;
          delete entry.reason;
        }
        if (alive && adopting) this.onEvent({ type: "adopted", name, pid: record.pid });
      }
      if (alive && !this.readyAt.has(name) && !this.starting.has(name)) {
        // What the lock holder started it also waited for: ready. Adopted ones ran before: ready
        // (one a supervisor before this one restarted, and was killed waiting for, too).
        this.readyAt.set(name, now);
        if (entry.state === "stopped" || entry.state === "starting") delete entry.state;
        this.startLiveness(name);
      }
      if (!alive && entry.state !== "backoff" && entry.lastExit !== null && Date.parse(entry.lastExit.at) >= Date.parse(record.startedAt)) {
        // This death was dealt with already (by this supervisor or one before it): the exit it
        // recorded stands (a clean exit stays clean, failed stays failed), not "unknown".
        this.handled.add(record.pid);
      }
      if (!alive && entry.state === "backoff" && !this.due.has(name)) {
        // Backoff survives a supervisor's restart: due as written, or now.
        const at = entry.nextRestartAt !== undefined ? Date.parse(entry.nextRestartAt) : now;
        this.due.set(name, Number.isFinite(at) ? at : now);
      }
    }
    // Exits of children no record names any more (the lock holder stopped them) are of no use.
    const recorded = new Set([...records.values()].map((record) => record.pid));
    for (const pid of this.exits.keys()) if (!recorded.has(pid)) this.exits.delete(pid);
    // Nor is "dealt with" for a PID no record names: kept, it would grow by one per death, forever.
    for (const pid of this.handled) if (!recorded.has(pid)) this.handled.delete(pid);
    this.diskStamp = this.readDiskStamp();
    this.persist();
  }

  /** Changes when the records or the current pointer change (someone switched without pausing us). */
  private readDiskStamp(): string {
    const parts: string[] = [this.state.recordsStamp()];
    for (const file of [path.join(this.state.lib, "current.json")]) {
      try {
        const stat = statSync(file, { bigint: true });
        parts.push(`${stat.ino}:${stat.mtimeNs}`);
      } catch {
        parts.push("-");
      }
    }
    return parts.join("/");
  }

  // ---- the loop ----

  private blocked(): boolean {
    if (this.paused || this.ended) return true;
    if (lockHeldByOther(this.stateDir)) {
      this.lockSeen = true;
      return true;
    }
    if (this.lockSeen || this.readDiskStamp() !== this.diskStamp) {
      // Another procman held the lock (or changed the records) since the last look: read again.
      this.lockSeen = false;
      this.reload();
    }
    return false;
  }

  private tick(): void {
    if (this.disownedNow() || this.blocked()) return;
    this.evaluate();
  }

  /** No longer its state dir's supervisor: it shuts down, writing nothing there. */
  private disownedNow(): boolean {
    if (this.disowned) return true;
    if (this.ended || this.stillOwned === undefined || this.stillOwned()) return false;
    void this.shutdown({ persist: false }).finally(this.onDisowned);
    return true;
  }

  /** One look at every process: deaths dealt with, restarts that are due begun. */
  private evaluate(): void {
    for (const [name, record] of this.records) {
      if (this.starting.has(name) || this.handled.has(record.pid) || this.children.has(record.pid)) continue;
      if (!this.specs.has(name)) continue;
      if (!stillRuns(checkIdentity(record))) this.died(name, record);
    }
    // After the deaths: a restart they decided with no delay begins in this same look.
    const now = Date.now();
    let next = Infinity;
    for (const [name, at] of this.due) {
      if (at <= now) {
        this.due.delete(name);
        void this.restart(name);
      } else next = Math.min(next, at);
    }
    if (next !== Infinity) {
      clearTimeout(this.wakeTimer);
      this.wakeTimer = setTimeout(() => this.tick(), Math.max(1, next - now));
    }
  }

  /** The exit status of a child, once it exits: what the spawning caller's readiness wait reports. */
  exitOf(pid: number): Promise<{ code: number | null; signal: string | null }> {
    const known = this.exits.get(pid);
    if (known !== undefined) return Promise.resolve({ code: known.code, signal: known.signal });
    return new Promise((resolve) => this.exitWaiters.set(pid, [...(this.exitWaiters.get(pid) ?? []), resolve]));
  }

  private childExited(pid: number, code: number | null, signal: string | null): void {
    this.exits.set(pid, { code, signal, at: Date.now() });
    for (const resolve of this.exitWaiters.get(pid) ?? []) resolve({ code, signal });
    this.exitWaiters.delete(pid);
    this.children.delete(pid);
    this.runnerChildren.delete(pid);
    // Crash detection is this event, not a poll: act on it at once.
    for (const [name, record] of this.records) {
      if (record.pid !== pid || this.starting.has(name)) continue;
      if (this.blocked()) return; // the next tick after the lock holder is done deals with it
      this.died(name, record);
    }
  }

  /** A supervised process is gone: record how, and restart, fail or leave it as its policy says. */
  private died(name: string, record: ProcessRecord, beforeReady = false): void {
    if (this.handled.has(record.pid) || this.records.get(name) !== record) return;
    this.handled.add(record.pid);
    this.stopLiveness(name);
    const spec = this.specs.get(name);
    const cause = this.stopping.get(record.pid);
    this.stopping.delete(record.pid);
    const exit = this.exits.get(record.pid);
    this.exits.delete(record.pid);
    const entry = this.entry(name);
    if (spec === undefined || cause === "expected" || this.expecting.has(name)) return;
    const facts: ExitFacts =
      cause === "liveness"
        ? { code: exit?.code ?? null, signal: exit?.signal ?? null, reason: "liveness" }
        : exit !== undefined
          ? { ...childExit(exit.code, exit.signal), beforeReady }
          : { code: null, signal: null, reason: "unknown", beforeReady };
    const now = Date.now();
    entry.lastExit = { code: facts.code, signal: facts.signal, at: new Date(exit?.at ?? now).toISOString(), reason: facts.reason };
    if (spec.liveness !== undefined) entry.health = "unknown";
    const readyAt = this.readyAt.get(name);
    this.readyAt.delete(name);
    this.onEvent({ type: "exited", name, pid: record.pid, message: describeExit(facts) });
    const decision = decide(spec.restart, entry.backoff, facts, now, readyAt === undefined ? null : now - readyAt);
    if (decision.action === "none") {
      delete entry.state;
      delete entry.nextRestartAt;
    } else if (decision.action === "failed") {
      entry.backoff = decision.state;
      entry.state = "failed";
      entry.reason = decision.why;
      delete entry.nextRestartAt;
      this.onEvent({ type: "failed", name, message: decision.why });
      this.runOnFailure(spec, "failed", decision.why);
    } else {
      entry.backoff = decision.state;
      entry.state = "backoff";
      entry.nextRestartAt = new Date(now + decision.delayMs).toISOString();
      this.due.set(name, now + decision.delayMs);
      this.onEvent({ type: "backoff", name, delayMs: decision.delayMs, nextRestartAt: entry.nextRestartAt });
    }
    this.persist();
    // Not restarted: what it left running goes now (a restart sweeps just before it starts).
    if (decision.action !== "restart") void this.sweepLeftovers(spec, record, true);
    if (decision.action === "restart") {
      clearTimeout(this.wakeTimer);
      this.wakeTimer = setTimeout(() => this.tick(), Math.max(1, decision.delayMs));
    }
  }

  /** Starts a process in backoff again and waits for its readiness (a dependent keeps running meanwhile). */
  private async restart(name: string): Promise<void> {
    const spec = this.specs.get(name);
    const old = this.records.get(name);
    const entry = this.entry(name);
    if (spec === undefined || old === undefined || entry.state !== "backoff" || this.expecting.has(name)) return;
    if (stillRuns(checkIdentity(old))) return; // someone started it meanwhile
    this.inFlight++;
    this.starting.add(name);
    let record: ProcessRecord | undefined;
    let logOffset = 0;
    // Told before the first await: a restart begun in a hand-over's first look is in its answer.
    this.onEvent({ type: "restarting", name, attempt: entry.restarts + 1 });
    try {
      // What the dead one left in its group (tagged by it) goes, and its PID file if it names it;
      // then what it left outside the group (a setsid()'d child): restart after restart, those
      // would pile up until the next stop.
      await terminate({ ...old, tag: tagFor(old.name, old.specHash, this.stateDir) });
      await this.sweepLeftovers(spec, old);
      if (this.ended || this.paused) return; // still in backoff: the next resume restarts it
      let launched: Launched;
      try {
        const runner = this.spawner();
        launched = (await launchRecorded(spec, this.stateDir, this.records, [process.pid], runner)).launched;
        this.watchExit(spec, launched, runner);
      } catch (error) {
        // Not started at all (initialize failed, a missing executable): a failed start.
        record = old;
        this.handled.delete(old.pid);
        this.onEvent({ type: "error", message: `${name}: ${(error as Error).message}` });
        this.starting.delete(name);
        this.died(name, old, true);
        return;
      }
      record = recordOf(spec, launched);
      logOffset = launched.logOffset;
      this.state.writeRecord(record);
      this.records.set(name, record);
      this.handled.delete(old.pid); // no record names it any more
      this.diskStamp = this.readDiskStamp();
      entry.restarts += 1;
      entry.state = "starting"; // status: not-ready, until its readiness (whatever its kind) passes
      delete entry.nextRestartAt;
      this.persist();
      this.onEvent({ type: "started", name, pid: record.pid });
    } finally {
      this.inFlight--;
      if (record === undefined) this.starting.delete(name);
      this.notifyIdle();
    }
    if (record === old) return;
    await this.awaitReady(spec, record, logOffset);
  }

  /** Readiness of a restarted process; dying or timing out before it is a failed start. */
  private async awaitReady(spec: ResolvedProcess, record: ProcessRecord, logOffset: number): Promise<void> {
    const name = spec.name;
    try {
      await waitUntilReady(spec, record, logOffset, this.readinessAbort.signal);
    } catch (error) {
      if (error instanceof AbandonedError || this.paused || this.ended) {
        this.starting.delete(name);
        if (this.entry(name).state === "starting") delete this.entry(name).state;
        this.persist();
        return; // the lock holder takes over
      }
      if (error instanceof NotReadyError && !error.exited) {
        this.inFlight++;
        try {
          this.stopping.set(record.pid, "expected");
          await terminate({ ...record, tag: tagFor(name, record.specHash, this.stateDir) });
          this.stopping.delete(record.pid);
          this.exits.delete(record.pid);
        } finally {
          this.inFlight--;
          this.notifyIdle();
        }
      }
      this.handled.delete(record.pid);
      // Died before ready, or never ready: a failed start (the child's exit status, if it came).
      if (!this.exits.has(record.pid) && this.children.has(record.pid)) await this.exitArrives(record.pid);
      // Still "starting" until here: the poll must not take this death for one after readiness.
      this.starting.delete(name);
      this.died(name, record, true);
      return;
    }
    this.starting.delete(name);
    this.readyAt.set(name, Date.now());
    if (this.entry(name).state === "starting") delete this.entry(name).state;
    this.persist();
    this.onEvent({ type: "ready", name, pid: record.pid });
    this.startLiveness(name);
    // It may have died between the check and now; the exit event was held back while starting.
    if (this.exits.has(record.pid) || !stillRuns(checkIdentity(record))) this.died(name, record);
  }

  /**
   * Every live process still carrying a dead process's tag, in any session, stopped as its spec
   * says. Counted in flight: a lock holder's pause waits for it, so it never meets a process the
   * holder starts with the same tag. Never throws (a survivor of SIGKILL is reported).
   */
  private async sweepLeftovers(spec: ResolvedProcess, record: ProcessRecord, background = false): Promise<void> {
    if (background) this.inFlight++;
    try {
      const tag = tagFor(record.name, record.specHash, this.stateDir);
      await sweepTagged(new Map([[tag, sweepSettingsOf(spec)]]), { exclude: [process.pid] });
    } catch (error) {
      this.onEvent({ type: "error", message: `${record.name}: ${(error as Error).message}` });
    } finally {
      if (background) {
        this.inFlight--;
        this.notifyIdle();
      }
    }
  }

  /** A dead child's exit event follows its death shortly (Node reaps it): wait for it, boundedly. */
  private async exitArrives(pid: number): Promise<void> {
    const deadline = Date.now() + 2000;
    while (!this.exits.has(pid) && this.children.has(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  }

  // ---- liveness ----

  private startLiveness(name: string): void {
    const spec = this.specs.get(name);
    const record = this.records.get(name);
    this.stopLiveness(name);
    if (spec?.liveness === undefined || record === undefined) return;
    const run: LivenessRun = {
      pid: record.pid,
      check: livenessCheck(spec, spec.liveness, this.readyAt.get(name) ?? Date.now()),
      failures: 0,
      timer: undefined,
    };
    this.liveness.set(name, run);
    const entry = this.entry(name);
    if (entry.health === null) entry.health = "unknown";
    const schedule = () => {
      run.timer = setTimeout(() => void this.checkLiveness(name, run).finally(() => this.liveness.get(name) === run && schedule()), spec.liveness!.interval * 1000);
    };
    schedule();
  }

  private stopLiveness(name: string): void {
    const run = this.liveness.get(name);
    if (run === undefined) return;
    clearTimeout(run.timer);
    this.liveness.delete(name);
  }

  private async checkLiveness(name: string, run: LivenessRun): Promise<void> {
    if (this.blocked()) return;
    const ok = await run.check();
    const spec = this.specs.get(name);
    const record = this.records.get(name);
    if (this.liveness.get(name) !== run || spec?.liveness === undefined || record?.pid !== run.pid) return;
    const entry = this.entry(name);
    if (ok) {
      run.failures = 0;
      if (entry.health !== "healthy") {
        entry.health = "healthy";
        this.persist();
        this.onEvent({ type: "healthy", name });
      }
      return;
    }
    run.failures += 1;
    if (run.failures < spec.liveness.failures) return;
    if (entry.health !== "unhealthy") {
      entry.health = "unhealthy";
      this.persist();
      this.onEvent({ type: "unhealthy", name, failures: run.failures });
      this.runOnFailure(spec, "unhealthy", `${run.failures} liveness checks failed in a row`);
    }
    if (this.blocked()) return; // stopped by the next failed check once the lock holder is done
    this.stopLiveness(name);
    this.inFlight++;
    try {
      // Its stop signal, SIGCONT (a frozen process keeps the signal pending otherwise), SIGKILL after stop.timeout.
      this.stopping.set(record.pid, "liveness");
      const stopped = terminate({ ...record, tag: tagFor(name, record.specHash, this.stateDir) });
      signalGroup(record, "SIGCONT");
      await stopped;
    } catch (error) {
      this.onEvent({ type: "error", message: `${name}: ${(error as Error).message}` });
    } finally {
      this.inFlight--;
      this.notifyIdle();
    }
    if (this.children.has(record.pid)) await this.exitArrives(record.pid);
    this.died(name, record);
  }

  // ---- logs ----

  private scheduleRotation(ms: number): void {
    if (this.ended) return;
    clearTimeout(this.rotateTimer);
    this.rotateTimer = setTimeout(() => void this.rotateLogs(), ms);
  }

  /** Each log that is due (rotate-schedule.ts) is looked at, and rotated past its cap. */
  private async rotateLogs(): Promise<void> {
    // Not while a lock holder (or a restart of its own) waits for a log line from a known offset:
    // collapsing the log would move the line out from under it.
    if (this.rotating || this.blocked()) return this.scheduleRotation(this.rotateMs);
    this.rotating = true;
    try {
      for (const [name, spec] of this.specs) {
        if (spec.log.maxSize <= 0 || !this.records.has(name) || this.starting.has(name)) continue;
        const now = Date.now();
        if (!this.rotation.isDue(name, now)) continue;
        const found = await rotateLog(spec.logFile, spec.log.maxSize, spec.log.keep);
        this.rotation.observe(name, now, found.size, found.after, spec.log.maxSize);
        if (found.outcome !== "none") this.onEvent({ type: "rotated", name, how: found.outcome });
      }
    } catch (error) {
      this.onEvent({ type: "error", message: `log rotation: ${(error as Error).message}` });
    } finally {
      this.rotating = false;
      this.scheduleRotation(this.rotation.nextIn(Date.now()));
    }
  }

  // ---- helpers ----

  private entry(name: string): SupervisionEntry {
    let entry = this.file.processes[name];
    if (entry === undefined) {
      entry = freshEntry(this.specs.get(name)?.liveness !== undefined);
      this.file.processes[name] = entry;
    }
    if (entry.backoff === undefined) entry.backoff = FRESH;
    return entry;
  }

  /**
   * One persist() for everything changed meanwhile; resolves once written. Each write is the whole
   * file (a temp file and a rename: ~1–2 ms on a busy disk), and a switch's spawns are answered one
   * by one: so after a write the next waits until PERSIST_GAP_MS have passed, and every spawn
   * answered within that gap shares it (a lone spawn is written in the next turn of the loop).
   */
  private persistSoon(): Promise<void> {
    this.persistQueued ??= new Promise((resolve) => {
      const run = () => {
        this.persistQueued = undefined;
        this.persist();
        resolve();
      };
      const wait = this.lastPersist + PERSIST_GAP_MS - Date.now();
      if (wait <= 0) setImmediate(run);
      else setTimeout(run, wait);
    });
    return this.persistQueued;
  }

  private persist(): void {
    if (this.disownedNow()) return;
    this.lastPersist = Date.now();
    try {
      writeSupervisionFile(this.stateDir, this.file);
    } catch (error) {
      this.onEvent({ type: "error", message: `cannot write the supervision status: ${(error as Error).message}` });
    }
  }

  private idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private notifyIdle(): void {
    if (this.inFlight !== 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** The onFailure snippet, as the process runs, with PROCMAN_PROCESS naming it; never awaited. */
  private runOnFailure(spec: ResolvedProcess, state: "failed" | "unhealthy", why: string): void {
    if (spec.onFailure === undefined) return;
    const [executable, ...args] = wrapCommand(spec, { executable: "/bin/sh", args: ["-c", spec.onFailure] });
    try {
      const child = spawn(executable!, args, {
        env: { ...spec.environment, PROCMAN_PROCESS: spec.name, PROCMAN_STATE: state, PROCMAN_REASON: why },
        cwd: spec.directory ?? "/",
        stdio: ["ignore", "inherit", "inherit"],
        detached: true,
      });
      child.once("error", (error) => this.onEvent({ type: "error", message: `${spec.name}: onFailure: ${error.message}` }));
      const timer = setTimeout(() => signalPid(-child.pid!, "SIGKILL"), 60_000);
      child.once("exit", () => clearTimeout(timer));
      child.unref();
    } catch (error) {
      this.onEvent({ type: "error", message: `${spec.name}: onFailure: ${(error as Error).message}` });
    }
  }
}

/** A signal to the recorded process's group (or to it alone when it leads none), identity checked. */
function signalGroup(record: ProcessRecord, signal: NodeJS.Signals): void {
  if (!stillRuns(checkIdentity(record))) return;
  signalPid(-record.pid, signal);
  signalPid(record.pid, signal);
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone, or no such group
  }
}
