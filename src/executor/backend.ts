// What the one transaction (transaction.ts) needs from a process manager. The direct manager and
// each other manager (systemd, launchd, supervisord, sysvinit) implement it; none of them locks,
// journals, plans, undoes or records a generation itself.
import type { DependencyEdges, ProcessManagerName, ResolvedModel, ResolvedProcess } from "../model/types.js";
import type { ObservedProcess, PlanReason } from "../plan/plan.js";
import type { EventSink } from "./events.js";
import type { InstallChange, InstallRecord } from "./install-record.js";

/**
 * none: nothing to supervise (or --no-supervise); detached: a supervisor process for the state dir;
 * foreground: `procman up`, whose own process supervises once the switch is done.
 */
export type SupervisionMode = "none" | "detached" | "foreground";

export interface StepContext {
  /** Aborted when another step of the same transaction failed or the command was interrupted. */
  readonly signal: AbortSignal;
  readonly onEvent: EventSink;
  /** The operator's `procman stop NAME`: recorded as stopped, never undone by the supervisor. */
  readonly operatorStop?: boolean;
}

export interface StartRequest {
  readonly spec: ResolvedProcess;
  /** It runs now and is restarted in place (its files did not change: launchd kickstart -k). */
  readonly restartInPlace: boolean;
  /** Another start of this transaction waits for it to be ready (false: nothing is gated on it). */
  readonly awaited?: boolean;
}

export interface Backend {
  readonly manager: ProcessManagerName;
  /**
   * Under the lock, before anything is observed. `supervise`: what will be deployed wants a
   * supervisor (the direct manager pauses or starts one, and spawns through it).
   */
  begin?(supervise: SupervisionMode): Promise<void>;
  /**
   * Last, still under the lock: `ok` the transaction succeeded; `supervise` as deployed now. What
   * a supervisor decides as it takes over is reported to `onEvent` (before the command's "done").
   */
  finish?(ok: boolean, supervise: SupervisionMode, onEvent: EventSink): Promise<void>;
  /**
   * After a crash mid-transaction (the journal is there): make what runs match the records.
   * `target`: what this command deploys (the interrupted one may have been starting it).
   * `unknown`: what the interrupted one started from a spec neither deploys goes too.
   */
  recover(onEvent: EventSink, target?: ResolvedModel, unknown?: boolean): Promise<void>;
  /**
   * Nothing deployed, no journal: what still runs on this state dir's tags (its lib/procman was
   * removed by hand) is stopped before the plan starts the same names a second time.
   */
  stopUnrecorded?(onEvent: EventSink): Promise<void>;
  /** What runs now, by name, as this backend knows it. */
  observe(): Promise<Map<string, ObservedProcess>>;
  /** What the records say each process activatesAfter (for processes no generation knows). */
  recordedEdges?(): DependencyEdges[];
  /** What decides "changed" for a process under this backend (run spec, or generated files). */
  hashOf(spec: ResolvedProcess): string;
  /**
   * The files this model needs installed (none for the direct manager), checked against what is
   * there: a name that exists and is not this state dir's is refused (exit 2) before anything
   * changes. `model` undefined: nothing installed (stop). `installed`: what is there now (default:
   * this state dir's install record); `check: false` for an undo, which puts procman's own back.
   */
  prepare(model: ResolvedModel | undefined, options: { installed?: InstallRecord | undefined; check: boolean }): Promise<InstallChange>;
  /** Writes, links and removes files to go from change.before to change.after, and reloads. */
  install(change: InstallChange): Promise<void>;
  /**
   * Starts these (all startable now); resolves once every one is ready — or, for one that is not
   * `awaited` and whose check the backend defers, once it is started: settleStarts then decides.
   */
  start(requests: readonly StartRequest[], context: StepContext): Promise<void>;
  /**
   * After the last start of a run of starts: the deferred checks, each failure a failed start.
   * `abandon`: a start failed; the deferred checks are dropped (what they started is undone).
   */
  settleStarts?(context: StepContext, abandon: boolean): Promise<void>;
  /** True: a process whose files did not change can be restarted in place (no stop first). */
  readonly restartsInPlace?: boolean;
  /** True: start() takes several at once (one systemctl call a layer); false: one a call. */
  readonly startsInBatches: boolean;
  /** Stops one (reports "stopping" and "stopped"); resolves once it is gone. */
  stop(name: string, context: StepContext, reason: PlanReason): Promise<void>;
  /** Before the ordered stops of a stop command: all of them at once (direct: one word to the supervisor, not one per layer). */
  expectStops?(names: readonly string[], context: StepContext): Promise<void>;
  /** Sends the process its reload signal (procman reload NAME); false when it does not run. */
  reload?(spec: ResolvedProcess): Promise<boolean>;
  /** Drops the record of a process that is gone (never signals its PID). */
  forget(name: string): Promise<void>;
  /** Called once the stops of a transaction are done: a sweep of leftovers, say. */
  afterStops?(names: readonly string[], options?: { readonly shutdownFollows?: boolean }): Promise<void>;
  /** After a successful transaction, before the generation is recorded (refresh kept records). */
  commit?(model: ResolvedModel): void;
  /** Ends the manager itself once nothing of this state dir runs under it (supervisord). */
  shutdown?(): Promise<void>;
}
