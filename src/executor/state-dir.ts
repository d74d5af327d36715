// procman's own records under stateDir/lib/procman: generations, the current pointer, one record
// per running process, the journal of a switch in progress, and the lock. Every write is atomic,
// every file carries the layout version it was written in, and every read checks the shape: a
// damaged file is reported by name (StateFileError, or a `damaged` entry from the lenient readers)
// — never a TypeError later, and never a reason for `stop` to leave running what runs.
import { chmodSync, closeSync, existsSync, lstatSync, readdirSync, rmSync, type Stats } from "node:fs";
import path from "node:path";
import { ProcmanError, StateFileError, describeSystemError } from "../errors.js";
import { PROCESS_MANAGERS, type ProcessManagerName, type ProcessMode, type ResolvedModel } from "../model/types.js";
import { makeDirectories, removeFile, writeFileAtomic } from "./atomic.js";
import { checkDirTrust } from "./dir-trust.js";
import { MAX_LINE, appendLine, appendLines, formatLine, openLog, readLog, readLogFd, replaceLog, statLog, writeLarge, type LogRead } from "./records-log.js";
import { acquireLock, lockHolder, ownPidNamespace, type LockOwner, type LockRelease } from "./lock.js";
import type { ProcessIdentity } from "./proc.js";
import { specHash } from "../plan/spec-hash.js";
import { UnsafeFileError, readWholeFile } from "./safe-file.js";

export type { LockOwner, LockRelease } from "./lock.js";

/**
 * The version of the files' layout, written into each as `layout`. Files without one were written
 * before versions existed and are read as layout 0 (the same shape). A newer layout is refused.
 */
export const STATE_LAYOUT = 1;

/** What procman knows about a process it started: enough to verify and stop it without the model. */
export interface ProcessRecord extends ProcessIdentity {
  readonly name: string;
  readonly mode: ProcessMode;
  /** Hash of everything that, changed, requires a restart (see plan/spec-hash). */
  readonly specHash: string;
  readonly pidFile: string;
  readonly stopSignal: string;
  /** Seconds. */
  readonly stopTimeout: number;
  readonly startedAt: string;
  /** What it activatesAfter, so that dependents stop first even without a generation. */
  readonly activatesAfter?: readonly string[];
  /** At the start: group and session (signalled only when procman made them or the verified daemon leads them). */
  readonly pgid?: number;
  readonly sid?: number;
  /** The log procman opened (device and inode, checked before it is read) and where this run's part begins. */
  readonly logDev?: number;
  readonly logIno?: number;
  readonly logOffset?: number;
}

export interface GenerationRecord {
  readonly generation: number;
  readonly createdAt: string;
  readonly processManager: ProcessManagerName;
  readonly modelFile: string | undefined;
  readonly model: ResolvedModel;
  /** Set on a generation made by rollback: the generation whose model it brought back. */
  readonly rollbackOf?: number;
  /** Namespace of generated names (other managers); absent in older records: "procman". */
  readonly prefix?: string;
  /** false: switched with --no-supervise (no supervisor until a switch without it). */
  readonly supervise?: boolean;
  /** Other managers: where --install-dir put the generated files (absent: their default place). */
  readonly installDir?: string;
  /** specHash of each process when the generation was written: status and a no-op switch need not hash 500 specs again. */
  readonly specHashes?: Readonly<Record<string, string>>;
}

export interface CurrentPointer {
  readonly generation: number;
  /** False after `procman stop`: the generation is kept, nothing of it should run. */
  readonly active: boolean;
  /** Stopped by the operator (`procman stop NAME`): never restarted by the supervisor; a switch clears it. */
  readonly stopped?: readonly string[];
}

/** Written when a switch starts changing processes, removed when it ends: present = interrupted. */
export interface Journal extends ProcessIdentity {
  readonly startedAt: string;
  readonly command: string;
  /** Other managers: the install record before and after, so a crash between them is recovered. */
  readonly install?: { readonly before: unknown; readonly after: unknown };
  /** The generation this command writes before it changes anything: removed if it never became current. */
  readonly generation?: number;
}

/** A state file that could not be used, and why. */
export interface DamagedFile {
  readonly file: string;
  readonly problem: string;
  /** A line of records.log that failed its checksum (what it held is unknown). */
  readonly line?: true;
}

/** One state file read: its value, absent (ENOENT), or damaged. */
export type StateRead<T> =
  | { readonly kind: "ok"; readonly value: T }
  | { readonly kind: "absent" }
  | { readonly kind: "damaged"; readonly damaged: DamagedFile };

/** What is deployed, read as far as it can be: for status, stop, visualize and logs. */
export interface Deployed {
  readonly current: CurrentPointer | undefined;
  /** The current generation's record; undefined when none is current or it is damaged/missing. */
  readonly generation: GenerationRecord | undefined;
  readonly damaged: readonly DamagedFile[];
}

export class LockedError extends ProcmanError {
  constructor(stateDir: string, waited: number, holder?: { pid: number; pidNamespace: string }) {
    const by =
      holder === undefined ? "" : ` (held by PID ${holder.pid}${holder.pidNamespace === ownPidNamespace() ? "" : " in another PID namespace"})`;
    super("ELOCKED", `the state dir ${stateDir} is locked by another procman; gave up after waiting ${waited} s${by}`, 3);
  }
}

/** Generations hold whole models; a record larger than this is not procman's. */
const MAX_STATE_FILE = 64 * 1024 * 1024;

export class StateDir {
  readonly root: string;
  readonly lib: string;
  private trusted = false;
  private tightened = false;
  constructor(readonly stateDir: string) {
    this.root = stateDir;
    this.lib = path.join(stateDir, "lib", "procman");
  }

  private get recordsDir(): string {
    return path.join(this.lib, "processes");
  }
  private get generationsDir(): string {
    return path.join(this.lib, "generations");
  }
  get lockFile(): string {
    return path.join(this.lib, "lock");
  }

  /**
   * Refuses (UntrustedDirError, exit 2) a state, run or log dir — or procman's records — that
   * another user could change. Checked once per StateDir, before the first read or write.
   */
  checkTrust(): void {
    if (this.trusted) return;
    for (const dir of [this.stateDir, path.join(this.stateDir, "run"), path.join(this.stateDir, "log"), this.lib]) checkDirTrust(dir);
    this.trusted = true;
  }

  /** Creates the layout (0700), and tightens what older versions created 0755/0644. */
  /** Whether procman ever used this state dir (its lib/procman exists). */
  inUse(): boolean {
    return existsSync(this.lib);
  }

  ensure(): void {
    this.checkTrust();
    // stateDir/lib also holds the services' own stateDirectory: it stays traversable.
    const dirs: [string, number][] = [[path.dirname(this.lib), 0o755], [this.lib, 0o700], [this.generationsDir, 0o700]];
    for (const [dir, mode] of dirs) makeDirectories(dir, mode);
    if (!this.tightened) {
      tighten(this.lib);
      this.tightened = true;
    }
  }

  // ---- lock ----

  /**
   * One procman at a time; waits up to waitSeconds, then LockedError (exit 3). A live holder keeps
   * its lock however long it is paused; a dead one's is taken over at once. The returned release
   * function also tells whether the lock is still held (`isHeld()`, `signal`).
   */
  async lock(waitSeconds: number, options: { readonly compact?: boolean } = {}): Promise<LockRelease> {
    this.ensure();
    const release = await acquireLock(this.lockFile, waitSeconds, {
      busy: () => new LockedError(this.stateDir, waitSeconds, lockHolder(this.lockFile)),
    });
    // Once per command, and only here: compaction replaces files another writer appends to. It is
    // an optimisation: a failure (a full disk) at any step leaves records that read the same, and
    // must not keep `stop` from working; the command's own writes report such a disk.
    // `compact: false` (stop): the records are read once and all removed, so a snapshot written
    // now would be read once and stale at once; the next command folds the log instead.
    if (options.compact !== false) {
      try {
        this.compact();
      } catch {
        this.cache = undefined;
      }
    }
    this.heldLock = release;
    const unlock = Object.assign(async () => {
      if (this.heldLock === release) this.heldLock = undefined;
      await release();
    }, { isHeld: () => release.isHeld(), signal: release.signal });
    return unlock;
  }

  /** The lock this StateDir took; while held nobody else compacts (appends skip that check). */
  private heldLock: LockRelease | undefined;
  private get locked(): boolean {
    return this.heldLock !== undefined && !this.heldLock.signal.aborted;
  }

  /** The live procman holding the lock, if any (a supervisor must not act while a switch runs). */
  lockHolder(): LockOwner | undefined {
    return lockHolder(this.lockFile);
  }

  // ---- process records ----
  // One append-only log plus a snapshot (records-log.ts), not a file per process. The old layout,
  // one processes/NAME.json each, is read as long as no snapshot exists, and folded into the first
  // snapshot (migrated) by the first command that takes the lock.

  private get logFile(): string {
    return path.join(this.lib, "records.log");
  }
  private get snapshotFile(): string {
    return path.join(this.lib, "records.json");
  }
  private get largeDir(): string {
    return path.join(this.lib, "large-records");
  }
  /** The last read: valid while the snapshot is the same file and the log the same inode. */
  private cache: RecordsCache | undefined;

  /** Every record; throws StateFileError on the first damaged one. */
  readRecords(): Map<string, ProcessRecord> {
    const { records, damaged } = this.readRecordsLenient();
    if (damaged.length > 0) throw new StateFileError(damaged[0]!.file, damaged[0]!.problem);
    return records;
  }

  /** The good records, and the damaged files beside them (stop falls back to the tags for those). */
  readRecordsLenient(): { records: Map<string, ProcessRecord>; damaged: DamagedFile[] } {
    this.checkTrust();
    const read = this.loadRecords();
    return { records: new Map(read.records), damaged: [...read.damaged] };
  }

  /** The good records as last read, not copied: for a look that changes nothing (a spawn's checks). */
  peekRecords(): ReadonlyMap<string, ProcessRecord> {
    this.checkTrust();
    return this.loadRecords().records;
  }

  writeRecord(record: ProcessRecord): void {
    let line = formatLine({ layout: STATE_LAYOUT, put: record });
    if (line.length > MAX_LINE) {
      writeLarge(this.largeDir, record.name, serialize(record, false));
      line = formatLine({ layout: STATE_LAYOUT, ref: record.name });
    }
    appendLine(this.logFile, line, this.locked);
  }

  removeRecord(name: string): void {
    this.removeRecords([name]);
  }

  /** Removes several records with one append (the stops that ended in the same round). */
  removeRecords(names: readonly string[]): void {
    if (names.length === 0) return;
    appendLines(this.logFile, names.map((name) => formatLine({ layout: STATE_LAYOUT, del: name })), this.locked);
  }

  /**
   * Changes whenever a record is written or removed, by anyone (the log's inode and size, the
   * snapshot's inode and mtime, the old directory's): a cheap "read the records again?" check.
   */
  recordsStamp(): string {
    return [this.logFile, this.snapshotFile, this.recordsDir]
      .map((file) => {
        const stat = statLog(file);
        return stat === undefined ? "-" : `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
      })
      .join("/");
  }

  /**
   * Folds the log (and the old processes/ directory) into a new snapshot and starts an empty log.
   * Only under the lock (lock() does it). Does nothing while anything is damaged: what cannot be
   * read must not be dropped. Lines appended meanwhile to the old log are carried to the new one.
   */
  compact(options: { readonly dropDamagedLines?: boolean } = {}): void {
    const snapshotStat = statLog(this.snapshotFile);
    const legacy = snapshotStat === undefined && existsSync(this.recordsDir);
    const fd = openLog(this.logFile);
    try {
      const log = fd === undefined ? undefined : readLogFd(fd, this.logFile, 0);
      if (snapshotStat !== undefined && !legacy && (log === undefined || log.entries.length === 0)) return;
      const loaded = this.loadFresh(log);
      // Lines failing their checksum go only once the caller made sure no process lost its record to them.
      if (loaded.damaged.some((damage) => damage.line !== true || options.dropDamagedLines !== true)) return;
      const snapshot = { layout: STATE_LAYOUT, records: [...loaded.records.values()] };
      writeFileAtomic(this.snapshotFile, `${JSON.stringify(snapshot)}\n`, 0o600, false);
      if (log !== undefined) {
        replaceLog(this.logFile);
        const tail = readLogFd(fd!, this.logFile, log.end);
        for (const { raw } of tail.entries) appendLine(this.logFile, raw);
      }
      const absorbed = (log?.entries ?? []).flatMap(({ entry }) => (typeof entry.ref === "string" ? [entry.ref] : []));
      for (const name of new Set(absorbed)) removeFile(path.join(this.largeDir, `${name}.json`), false);
      if (legacy) rmSync(this.recordsDir, { recursive: true, force: true });
    } finally {
      if (fd !== undefined) closeSync(fd);
      this.cache = undefined;
    }
  }

  private loadRecords(): RecordsCache {
    const snapshotStat = statLog(this.snapshotFile);
    const logStat = statLog(this.logFile);
    const cache = this.cache;
    if (cache !== undefined && snapshotStat !== undefined && cache.snapshotKey === statKey(snapshotStat) && logStat !== undefined && logStat.ino === cache.logIno) {
      if (logStat.size > cache.end) {
        const tail = readLog(this.logFile, cache.end);
        if (tail !== undefined && tail.ino === cache.logIno) {
          this.apply(cache, tail.entries, tail.bad);
          cache.end = tail.end;
          return cache;
        }
      } else return cache;
    }
    const fresh = this.loadFresh(readLog(this.logFile, 0));
    this.cache = snapshotStat !== undefined && fresh.logIno !== undefined ? fresh : undefined;
    return fresh;
  }

  /** Snapshot (or the old directory when there is none), then the log lines it does not cover. */
  private loadFresh(log: LogRead | undefined): RecordsCache {
    const cache: RecordsCache = { snapshotKey: "", logIno: log?.ino, end: log?.end ?? 0, records: new Map(), damaged: [] };
    const snapshotStat = statLog(this.snapshotFile);
    if (snapshotStat !== undefined) {
      cache.snapshotKey = statKey(snapshotStat);
      const read = readState<Snapshot>(this.snapshotFile, checkSnapshot);
      if (read.kind === "damaged") cache.damaged.push(read.damaged);
      else if (read.kind === "ok") {
        read.value.records.forEach((record, index) => {
          const problem = checkProcessRecord(record as unknown as Record<string, unknown>, undefined);
          if (problem === undefined) cache.records.set(record.name, record);
          else cache.damaged.push({ file: this.snapshotFile, problem: `record ${index + 1}: ${problem}` });
        });
      }
    } else this.readLegacy(cache);
    if (log !== undefined) this.apply(cache, log.entries, log.bad);
    return cache;
  }

  private apply(cache: RecordsCache, entries: LogRead["entries"], bad: readonly number[] = []): void {
    const logFile = this.logFile;
    for (const offset of bad) {
      cache.damaged.push({ file: `${logFile} (the line at byte ${offset})`, problem: "its checksum does not match (torn or altered): skipped", line: true });
    }
    for (const { entry, offset } of entries) {
      const { layout = 0 } = entry;
      if (layout === STATE_LAYOUT && typeof entry.del === "string") {
        cache.records.delete(entry.del);
        continue;
      }
      if (layout === STATE_LAYOUT && entry.put !== null && typeof entry.put === "object" && !Array.isArray(entry.put)) {
        const record = entry.put as Record<string, unknown>;
        if (checkProcessRecord(record, undefined) === undefined) {
          cache.records.set(record.name as string, record as unknown as ProcessRecord);
          continue;
        }
      }
      // Anything else, and every problem, the long way (it names the line).
      const where = `${logFile} (the line at byte ${offset})`;
      if (!Number.isSafeInteger(layout) || (layout as number) < 0) cache.damaged.push({ file: where, problem: `bad layout version ${JSON.stringify(layout)}` });
      else if ((layout as number) > STATE_LAYOUT) {
        cache.damaged.push({ file: where, problem: `written by a newer procman (layout ${layout}; this one reads up to ${STATE_LAYOUT})` });
      } else if (typeof entry.del === "string") cache.records.delete(entry.del);
      else if (typeof entry.ref === "string") {
        const file = path.join(this.largeDir, `${entry.ref}.json`);
        const name = entry.ref;
        const read = readState<ProcessRecord>(file, (value) => checkProcessRecord(value, name));
        if (read.kind === "ok") cache.records.set(name, read.value);
        else if (read.kind === "damaged") cache.damaged.push(read.damaged);
        else cache.damaged.push({ file, problem: `missing, yet ${this.logFile} refers to it` });
      } else if (entry.put !== null && typeof entry.put === "object" && !Array.isArray(entry.put)) {
        const record = entry.put as Record<string, unknown>;
        const problem = checkProcessRecord(record, undefined);
        if (problem === undefined) cache.records.set(record.name as string, record as unknown as ProcessRecord);
        else cache.damaged.push({ file: where, problem });
      } else cache.damaged.push({ file: where, problem: "not a record, a removal or a reference; not written by procman" });
    }
  }

  /** The layout before the log: one processes/NAME.json per record. */
  private readLegacy(cache: RecordsCache): void {
    let files: string[];
    try {
      files = readdirSync(this.recordsDir);
    } catch {
      return;
    }
    for (const entry of files.filter((name) => name.endsWith(".json") && !name.startsWith(".")).sort()) {
      const file = path.join(this.recordsDir, entry);
      const read = readState<ProcessRecord>(file, (value) => checkProcessRecord(value, entry.slice(0, -".json".length)));
      if (read.kind === "ok") cache.records.set(read.value.name, read.value);
      else if (read.kind === "damaged") cache.damaged.push(read.damaged);
    }
  }

  // ---- generations ----

  private get currentFile(): string {
    return path.join(this.lib, "current.json");
  }
  generationFile(generation: number): string {
    return path.join(this.generationsDir, `${generation}.json`);
  }

  /** The current pointer; undefined when nothing was ever deployed; StateFileError when damaged. */
  readCurrent(): CurrentPointer | undefined {
    return orThrow(this.inspectCurrent());
  }

  inspectCurrent(): StateRead<CurrentPointer> {
    this.checkTrust();
    return readState(this.currentFile, checkCurrent);
  }

  setCurrent(pointer: CurrentPointer): void {
    writeFileAtomic(this.currentFile, serialize(pointer, false));
  }

  listGenerations(): number[] {
    this.checkTrust();
    // Before the listing: an undo removes the pending file first, then the journal.
    const pending = this.pendingGeneration();
    let files: string[];
    try {
      files = readdirSync(this.generationsDir);
    } catch {
      return [];
    }
    return files
      .map((file) => /^([0-9]+)\.json$/.exec(file)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .filter((n) => n !== pending)
      .sort((a, b) => a - b);
  }

  /**
   * The generation a command wrote before changing anything and has not made current yet (its
   * journal names it): not a generation until then — not listed, not a rollback's target, and its
   * number is the next one again.
   */
  private pendingGeneration(): number | undefined {
    const journal = this.inspectJournal();
    if (journal.kind !== "ok" || journal.value.generation === undefined) return undefined;
    const current = this.inspectCurrent();
    // A damaged pointer may have named it: then it is listed, as every other.
    if (current.kind === "damaged" || (current.kind === "ok" && current.value.generation === journal.value.generation)) return undefined;
    return journal.value.generation;
  }

  /** A generation's record; StateFileError (naming the file) when it is missing or damaged. */
  readGeneration(generation: number): GenerationRecord {
    const read = this.inspectGeneration(generation);
    if (read.kind === "absent") throw new StateFileError(this.generationFile(generation), `generation ${generation} is missing`);
    return orThrow(read)!;
  }

  inspectGeneration(generation: number): StateRead<GenerationRecord> {
    this.checkTrust();
    return readState(this.generationFile(generation), (value) => checkGeneration(value, generation));
  }

  /** What is deployed, as far as it can be read; never throws for a damaged or missing file. */
  readDeployed(): Deployed {
    const damaged: DamagedFile[] = [];
    const pointer = this.inspectCurrent();
    if (pointer.kind === "damaged") return { current: undefined, generation: undefined, damaged: [pointer.damaged] };
    if (pointer.kind === "absent") return { current: undefined, generation: undefined, damaged };
    const current = pointer.value;
    const read = this.inspectGeneration(current.generation);
    if (read.kind === "ok") return { current, generation: read.value, damaged };
    damaged.push(
      read.kind === "damaged"
        ? read.damaged
        : { file: this.generationFile(current.generation), problem: `missing, yet ${this.currentFile} names generation ${current.generation}` },
    );
    return { current, generation: undefined, damaged };
  }

  /** The number the next writeGeneration takes. */
  nextGeneration(): number {
    return (this.listGenerations().at(-1) ?? 0) + 1;
  }

  /** Writes the next generation (not yet current; `generation`: its number) and returns its number. */
  writeGeneration(
    model: ResolvedModel,
    processManager: ProcessManagerName,
    modelFile: string | undefined,
    rollbackOf?: number,
    prefix?: string,
    supervise?: boolean,
    installDir?: string,
    generation = this.nextGeneration(),
  ): number {
    const record: GenerationRecord = {
      generation,
      createdAt: new Date().toISOString(),
      processManager,
      modelFile,
      model,
      ...(rollbackOf !== undefined ? { rollbackOf } : {}),
      ...(prefix !== undefined ? { prefix } : {}),
      ...(supervise === false ? { supervise } : {}),
      ...(installDir !== undefined ? { installDir } : {}),
      specHashes: Object.fromEntries(model.processes.map((spec) => [spec.name, specHash(spec)])),
    };
    writeFileAtomic(this.generationFile(generation), serialize(record, true));
    return generation;
  }

  /** Removes a generation this command wrote but could not make current (an undone switch). */
  removeGeneration(generation: number): void {
    rmSync(this.generationFile(generation), { force: true });
  }

  // ---- journal ----

  private get journalFile(): string {
    return path.join(this.lib, "journal.json");
  }

  readJournal(): Journal | undefined {
    return orThrow(this.inspectJournal());
  }

  inspectJournal(): StateRead<Journal> {
    this.checkTrust();
    return readState(this.journalFile, checkJournal);
  }

  writeJournal(journal: Journal): void {
    writeFileAtomic(this.journalFile, serialize(journal, false));
  }

  clearJournal(): void {
    // No journal (a no-op switch writes none): nothing to remove, and no directory fsync.
    if (statLog(this.journalFile) === undefined) return;
    removeFile(this.journalFile);
  }
}

function serialize(value: object, pretty: boolean): string {
  const versioned = { layout: STATE_LAYOUT, ...value };
  return `${pretty ? JSON.stringify(versioned, null, 2) : JSON.stringify(versioned)}\n`;
}

function orThrow<T>(read: StateRead<T>): T | undefined {
  if (read.kind === "damaged") throw new StateFileError(read.damaged.file, read.damaged.problem);
  return read.kind === "ok" ? read.value : undefined;
}

/** A check returns the problem, or undefined when the value has the shape. */
type ShapeCheck = (value: Record<string, unknown>) => string | undefined;

function readState<T>(file: string, check: ShapeCheck): StateRead<T> {
  let bytes: Buffer | undefined;
  try {
    bytes = readWholeFile(file, MAX_STATE_FILE);
  } catch (error) {
    if (error instanceof UnsafeFileError) return { kind: "damaged", damaged: { file, problem: error.why } };
    return { kind: "damaged", damaged: { file, problem: `unreadable: ${describeSystemError(error)}` } };
  }
  if (bytes === undefined) return { kind: "absent" };
  const damaged = (problem: string): StateRead<T> => ({ kind: "damaged", damaged: { file, problem } });
  if (bytes.length === 0) return damaged("empty (truncated?); it was not written completely by procman");
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    return damaged(`unreadable record (${(error as Error).message}); truncated, or not written by procman`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return damaged("not a JSON object; it was not written by procman");
  const { layout = 0, ...rest } = value as Record<string, unknown>;
  if (!Number.isSafeInteger(layout) || (layout as number) < 0) return damaged(`bad layout version ${JSON.stringify(layout)}`);
  if ((layout as number) > STATE_LAYOUT) return damaged(`written by a newer procman (layout ${layout}; this one reads up to ${STATE_LAYOUT})`);
  const problem = check(rest);
  if (problem !== undefined) return damaged(problem);
  return { kind: "ok", value: rest as T };
}

// ---- shapes ----

const isText = (value: unknown) => typeof value === "string";
const isCount = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0;

function expect(value: Record<string, unknown>, fields: Record<string, [(v: unknown) => boolean, string]>): string | undefined {
  // Thousands of records per command: the common case (all good) allocates nothing.
  let bad = false;
  for (const key in fields) {
    if (!fields[key]![0](value[key])) {
      bad = true;
      break;
    }
  }
  if (!bad) return undefined;
  const problems = Object.entries(fields)
    .filter(([key, [ok]]) => !ok(value[key]))
    .map(([key, [, wanted]]) => `"${key}" ${value[key] === undefined ? "is missing" : `is not ${wanted}`}`);
  return problems.length === 0 ? undefined : `not a valid record: ${problems.join(", ")}`;
}

const PROCESS_RECORD_FIELDS: Record<string, [(v: unknown) => boolean, string]> = {
  name: [isText, "a string"],
  pid: [(v) => Number.isSafeInteger(v) && (v as number) > 0, "a PID"],
  startTime: [isText, "a string"],
  mode: [(v) => v === "foreground" || v === "daemon", '"foreground" or "daemon"'],
  specHash: [isText, "a string"],
  pidFile: [isText, "a string"],
  stopSignal: [isText, "a string"],
  stopTimeout: [(v) => typeof v === "number" && Number.isFinite(v) && v >= 0, "a number of seconds"],
  startedAt: [isText, "a string"],
};

function checkProcessRecord(value: Record<string, unknown>, fileName: string | undefined): string | undefined {
  const problem = expect(value, PROCESS_RECORD_FIELDS);
  if (problem !== undefined) return problem;
  if (fileName !== undefined && value.name !== fileName) return `names process ${JSON.stringify(value.name)}, not ${JSON.stringify(fileName)}`;
  return undefined;
}

function checkGeneration(value: Record<string, unknown>, generation: number): string | undefined {
  const problem = expect(value, {
    generation: [(v) => v === generation, `${generation} (the file's number)`],
    createdAt: [isText, "a string"],
    processManager: [(v) => (PROCESS_MANAGERS as readonly unknown[]).includes(v), `one of ${PROCESS_MANAGERS.join(", ")}`],
    model: [(v) => v !== null && typeof v === "object", "a model"],
  });
  if (problem !== undefined) return problem;
  const model = value.model as Record<string, unknown>;
  if (model.context === null || typeof model.context !== "object") return 'not a valid record: "model.context" is not an object';
  if (!Array.isArray(model.processes) || !model.processes.every((item) => item !== null && typeof item === "object" && isText((item as { name?: unknown }).name))) {
    return 'not a valid record: "model.processes" is not a list of processes';
  }
  if (value.modelFile !== undefined && !isText(value.modelFile)) return 'not a valid record: "modelFile" is not a string';
  if (value.rollbackOf !== undefined && !isCount(value.rollbackOf)) return 'not a valid record: "rollbackOf" is not a generation number';
  return undefined;
}

interface Snapshot {
  readonly records: readonly ProcessRecord[];
}

interface RecordsCache {
  snapshotKey: string;
  logIno: number | undefined;
  end: number;
  readonly records: Map<string, ProcessRecord>;
  readonly damaged: DamagedFile[];
}

const statKey = (stat: Stats) => `${stat.ino}:${stat.mtimeMs}:${stat.size}`;

function checkSnapshot(value: Record<string, unknown>): string | undefined {
  return Array.isArray(value.records) && value.records.every((item) => item !== null && typeof item === "object" && !Array.isArray(item))
    ? undefined
    : 'not a valid snapshot: "records" is not a list of records';
}

function checkCurrent(value: Record<string, unknown>): string | undefined {
  return expect(value, {
    generation: [(v) => Number.isSafeInteger(v) && (v as number) > 0, "a generation number"],
    active: [(v) => typeof v === "boolean", "true or false"],
  });
}

function checkJournal(value: Record<string, unknown>): string | undefined {
  if (value.generation !== undefined && !(Number.isSafeInteger(value.generation) && (value.generation as number) > 0)) return "generation: not a generation number";
  return expect(value, {
    pid: [(v) => Number.isSafeInteger(v) && (v as number) > 0, "a PID"],
    startTime: [isText, "a string"],
    startedAt: [isText, "a string"],
    command: [isText, "a string"],
  });
}

/**
 * Older versions created lib/procman 0755 and its files 0644, though generations and records hold
 * the model's environment (tokens, passwords): owner only from now on — directories 0700, files
 * 0600, executables (init scripts, wrappers) 0700. Symbolic links are left alone.
 */
function tighten(dir: string): void {
  let entries: string[];
  try {
    chmodIfLoose(dir, 0o700);
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const entry of entries) {
    const file = path.join(dir, entry);
    let stat;
    try {
      stat = lstatSync(file);
    } catch {
      continue;
    }
    if (stat.isDirectory()) tighten(file);
    else if (stat.isFile()) chmodIfLoose(file, (stat.mode & 0o100) !== 0 ? 0o700 : 0o600);
  }
}

function chmodIfLoose(file: string, mode: number): void {
  const stat = lstatSync(file);
  if (stat.isSymbolicLink()) return;
  if ((stat.mode & 0o7777) !== mode && (stat.mode & 0o077) !== 0) chmodSync(file, mode);
}
