// procman's own records under stateDir/lib/procman: generations, the current pointer, one record
// per running process, the journal of a switch in progress, and the lock. Every write is atomic.
import { mkdirSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import lockfile from "proper-lockfile";
import { ProcmanError } from "../errors.js";
import type { ProcessManagerName, ProcessMode, ResolvedModel } from "../model/types.js";
import { removeFile, writeFileAtomic } from "./atomic.js";
import type { ProcessIdentity } from "./proc.js";

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
  /** At the start (trust-proc): group and session, the log's device/inode and where this run's part begins. */ readonly pgid?: number; readonly sid?: number; readonly logDev?: number; readonly logIno?: number; readonly logOffset?: number;
}

export interface GenerationRecord {
  readonly generation: number;
  readonly createdAt: string;
  readonly processManager: ProcessManagerName;
  readonly modelFile: string | undefined;
  readonly model: ResolvedModel;
  /** Set on a generation made by rollback: the generation whose model it brought back. */
  readonly rollbackOf?: number;
}

export interface CurrentPointer {
  readonly generation: number;
  /** False after `procman stop`: the generation is kept, nothing of it should run. */
  readonly active: boolean;
}

/** Written when a switch starts changing processes, removed when it ends: present = interrupted. */
export interface Journal extends ProcessIdentity {
  readonly startedAt: string;
  readonly command: string;
}

export class LockedError extends ProcmanError {
  constructor(stateDir: string, waited: number) {
    super("ELOCKED", `the state dir ${stateDir} is locked by another procman; gave up after waiting ${waited} s`, 3);
  }
}

export class StateDir {
  readonly root: string;
  readonly lib: string;
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

  ensure(): void {
    mkdirSync(this.recordsDir, { recursive: true, mode: 0o755 });
    mkdirSync(this.generationsDir, { recursive: true, mode: 0o755 });
  }

  // ---- lock ----

  /** One procman at a time; waits up to waitSeconds, then LockedError (exit 3). */
  async lock(waitSeconds: number): Promise<() => Promise<void>> {
    this.ensure();
    const deadline = Date.now() + waitSeconds * 1000;
    for (;;) {
      try {
        return await lockfile.lock(this.lib, {
          lockfilePath: path.join(this.lib, "lock"),
          stale: 5000,
          update: 1000,
          retries: 0,
          // A compromised lock (clock jumps, a blocked event loop) must not crash procman mid-switch.
          onCompromised: () => undefined,
        });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ELOCKED") throw error;
        if (Date.now() >= deadline) throw new LockedError(this.stateDir, waitSeconds);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  // ---- process records ----

  readRecords(): Map<string, ProcessRecord> {
    const records = new Map<string, ProcessRecord>();
    let files: string[];
    try {
      files = readdirSync(this.recordsDir);
    } catch {
      return records;
    }
    for (const file of files.filter((name) => name.endsWith(".json") && !name.startsWith("."))) {
      const record = readJson<ProcessRecord>(path.join(this.recordsDir, file));
      records.set(record.name, record);
    }
    return records;
  }

  writeRecord(record: ProcessRecord): void {
    writeFileAtomic(path.join(this.recordsDir, `${record.name}.json`), `${JSON.stringify(record, null, 2)}\n`, 0o644, false);
  }

  removeRecord(name: string): void {
    removeFile(path.join(this.recordsDir, `${name}.json`), false);
  }

  // ---- generations ----

  readCurrent(): CurrentPointer | undefined {
    return readJsonIfExists<CurrentPointer>(path.join(this.lib, "current.json"));
  }

  setCurrent(pointer: CurrentPointer): void {
    writeFileAtomic(path.join(this.lib, "current.json"), `${JSON.stringify(pointer)}\n`);
  }

  listGenerations(): number[] {
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
      .sort((a, b) => a - b);
  }

  readGeneration(generation: number): GenerationRecord {
    return readJson<GenerationRecord>(path.join(this.generationsDir, `${generation}.json`));
  }

  /** Writes the next generation (not yet current) and returns its number. */
  writeGeneration(model: ResolvedModel, processManager: ProcessManagerName, modelFile: string | undefined, rollbackOf?: number): number {
    const generation = (this.listGenerations().at(-1) ?? 0) + 1;
    const record: GenerationRecord = {
      generation,
      createdAt: new Date().toISOString(),
      processManager,
      modelFile,
      model,
      ...(rollbackOf !== undefined ? { rollbackOf } : {}),
    };
    writeFileAtomic(path.join(this.generationsDir, `${generation}.json`), `${JSON.stringify(record, null, 2)}\n`);
    return generation;
  }

  // ---- journal ----

  readJournal(): Journal | undefined {
    return readJsonIfExists<Journal>(path.join(this.lib, "journal.json"));
  }

  writeJournal(journal: Journal): void {
    writeFileAtomic(path.join(this.lib, "journal.json"), `${JSON.stringify(journal)}\n`);
  }

  clearJournal(): void {
    removeFile(path.join(this.lib, "journal.json"));
  }
}

function readJson<T>(file: string): T {
  const text = readFileSync(file, "utf8");
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new ProcmanError("ESTATE", `${file}: unreadable record (${(error as Error).message}); it was not written by procman`, 1);
  }
}

function readJsonIfExists<T>(file: string): T | undefined {
  try {
    return readJson<T>(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}
