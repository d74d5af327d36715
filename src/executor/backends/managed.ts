// Another process manager as a backend of the transaction: generate its files (pure), install them
// under this state dir's install record, and drive the manager's tool. Only what the install record
// lists, still as procman wrote it, is ever overwritten, disabled, stopped or removed; any other
// file, link or alias with one of the generated names is a collision, refused before anything
// changes.
import { lstatSync, rmSync, symlinkSync } from "node:fs";
import { createHash } from "node:crypto";
import path from "node:path";
import { GENERATORS } from "../../../generators/index.js";
import { GeneratorError, type GeneratorOutput } from "../../../generators/types.js";
import { ProcmanError } from "../../errors.js";
import type { ResolvedModel } from "../../model/types.js";
import type { ObservedProcess } from "../../plan/plan.js";
import { writeFileAtomic } from "../atomic.js";
import type { Backend } from "../backend.js";
import {
  currentHash,
  hashText,
  isOurs,
  readInstallRecord,
  unionRecords,
  writeInstallRecord,
  type InstallChange,
  type InstallRecord,
  type PlannedFile,
} from "../install-record.js";
import type { StateDir } from "../state-dir.js";
import { TAG_VARIABLE, stopEveryTagged, sweepSettingsOf, sweepTagged, tagFor, tagName } from "../tag-sweep.js";
import { SwitchFailedError } from "../switch-result.js";
import type { ManagerAdapter } from "./adapter.js";
import { ToolError } from "./tool.js";
import { makeDirectories } from "../atomic.js";

/** A name the manager already knows, not installed by this state dir. Exit 2, nothing changed. */
export class CollisionError extends ProcmanError {
  constructor(readonly file: string, lib: string) {
    super(
      "ECOLLISION",
      `${file} exists and is not procman's (not in ${path.join(lib, "installed.json")}): rename the process or choose another --prefix; nothing was changed`,
      2,
    );
  }
}

/** Owner of a shared file whose change restarts every process (see ManagerAdapter.restartsAll). */
const ALL = "*";

export function managedBackend(state: StateDir, adapter: ManagerAdapter, prefix: string, onWarning: (message: string) => void): Backend {
  const { manager } = adapter;
  const installedNow = (): InstallRecord | undefined => {
    const record = readInstallRecord(state.lib);
    return record?.manager === manager ? record : undefined;
  };
  /** Per process: hash of its files, as generated for the last model prepared. */
  let planned = new Map<string, string>();

  /** The tag of a program of this manager: no spec hash in it (the files' hash would need the tag). */
  const tagOf = (name: string) => tagFor(name, manager, state.stateDir);
  const tagged = (model: ResolvedModel): ResolvedModel =>
    adapter.tagsProcesses !== true
      ? model
      : { ...model, processes: model.processes.map((spec) => ({ ...spec, environment: { ...spec.environment, [TAG_VARIABLE]: tagOf(spec.name) } })) };

  const generate = (model: ResolvedModel): GeneratorOutput => {
    try {
      const output = GENERATORS[manager](tagged(model), { ...adapter.generatorOptions, installDir: adapter.dir });
      output.warnings.forEach(onWarning);
      return output;
    } catch (error) {
      if (error instanceof GeneratorError) throw new ProcmanError(error.code, error.message, 2);
      throw error;
    }
  };

  const ownerOf = (output: GeneratorOutput) => {
    const owner = new Map<string, string>();
    for (const [name, paths] of Object.entries(output.processFiles)) for (const file of paths) owner.set(file, name);
    return owner;
  };

  const processHashes = (record: InstallRecord | undefined): Map<string, string> => {
    const byOwner = new Map<string, string[]>();
    const everyone: string[] = [];
    for (const file of record?.files ?? []) {
      const part = `${file.path}\0${file.hash}\0${file.mode ?? ""}`;
      if (file.owner === ALL) everyone.push(part);
      else if (file.owner !== undefined) byOwner.set(file.owner, [...(byOwner.get(file.owner) ?? []), part]);
    }
    for (const parts of byOwner.values()) parts.push(...everyone);
    const hashes = new Map<string, string>();
    for (const [owner, parts] of byOwner) hashes.set(owner, createHash("sha256").update(parts.sort().join("\n")).digest("hex").slice(0, 32));
    return hashes;
  };

  const wrapTool = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      // A manager's tool that fails is an operation that failed (exit 1), not a bug in procman.
      if (error instanceof ToolError) throw new SwitchFailedError(error.message);
      throw error;
    }
  };

  return {
    manager,
    startsInBatches: true,
    restartsInPlace: true,
    hashOf: (spec) => planned.get(spec.name) ?? "",

    recover: async (onEvent) => {
      // A crash between "before" and "after": files of both may be on disk; both are procman's.
      const journal = state.readJournal();
      const install = journal?.install as { before: InstallRecord | null; after: InstallRecord | null } | undefined;
      if (install === undefined) return;
      const union = unionRecords(install.before ?? undefined, install.after ?? undefined);
      if (union !== undefined) {
        writeInstallRecord(state.lib, union);
        onEvent({ type: "recovering", message: `an interrupted ${journal!.command} left files of ${manager}; they are procman's and are reconciled now` });
      }
    },

    observe: async () => {
      const record = installedNow();
      const observed = new Map<string, ObservedProcess>();
      for (const [name, hash] of processHashes(record)) {
        const seen = adapter.runningPid !== undefined ? await adapter.runningPid(name) : { running: await adapter.running(name) };
        observed.set(name, { name, specHash: hash, state: seen.running ? "running" : "dead", ...(seen.running && seen.pid !== undefined ? { pid: seen.pid } : {}) });
      }
      return observed;
    },

    prepare: async (model, options) => {
      const before = "installed" in options ? options.installed : installedNow();
      if (model === undefined) {
        planned = new Map();
        return { before, after: undefined, files: [], changed: new Set(processHashes(before).keys()) };
      }
      const unavailable = options.check ? adapter.unavailable?.() : undefined;
      if (unavailable !== undefined) throw new ProcmanError("EMANAGER", `cannot deploy to ${manager}: ${unavailable}; nothing was changed`, 1);
      const output = generate(model);
      const generated = output.files;
      const owners = ownerOf(output);
      for (const file of adapter.restartsAll?.(generated) ?? []) owners.set(file, ALL);
      const files: PlannedFile[] = generated.map((file) => {
        const target = path.join(adapter.dir, file.path);
        const owner = owners.get(file.path);
        return file.symlink !== undefined
          ? { path: target, hash: hashText(file.symlink), link: file.symlink, ...(owner !== undefined ? { owner } : {}) }
          : { path: target, hash: hashText(file.contents), mode: file.mode, contents: file.contents, ...(owner !== undefined ? { owner } : {}) };
      });
      for (const link of adapter.links(generated)) {
        files.push({ path: link.path, hash: hashText(link.target), link: link.target, ...(link.owner !== undefined ? { owner: link.owner } : {}) });
      }
      const after: InstallRecord = { manager, prefix, files: files.map(({ contents: _contents, ...file }) => file) };
      if (options.check) {
        for (const file of [...files.map((entry) => entry.path), ...adapter.namesakes(generated)]) {
          if (currentHash(file) !== undefined && !isOurs(before, file) && !isOurs(after, file)) throw new CollisionError(file, state.lib);
        }
      }
      planned = processHashes(after);
      const was = processHashes(before);
      const changed = new Set([...planned.keys(), ...was.keys()].filter((name) => planned.get(name) !== was.get(name)));
      return { before, after, files, changed };
    },

    install: (change) => wrapTool(() => install(state, adapter, change)),

    forget: async () => undefined,

    reload: (spec) =>
      wrapTool(async () => {
        if (adapter.signal === undefined) throw new ProcmanError("EUNSUPPORTED", `procman reload is not supported under ${manager}`, 2);
        if (!(await adapter.running(spec.name))) return false;
        await adapter.signal(spec.name, spec.stop.reloadSignal);
        return true;
      }),

    stop: (name, context, reason) =>
      wrapTool(async () => {
        const began = Date.now();
        context.onEvent({ type: "stopping", name, pid: 0, reason });
        await adapter.stop(name);
        context.onEvent({ type: "stopped", name, pid: 0, ms: Date.now() - began, killed: false });
      }),

    start: (requests, context) =>
      wrapTool(async () => {
        const began = Date.now();
        // Not running as the manager sees it, yet on its tag: left by a manager that died (no second instance).
        const orphans = requests.filter(({ restartInPlace }) => restartInPlace !== true);
        if (adapter.tagsProcesses === true && orphans.length > 0) {
          const swept = await sweepTagged(new Map(orphans.map(({ spec }) => [tagOf(spec.name), sweepSettingsOf(spec)])));
          for (const found of swept) context.onEvent({ type: "recovering", message: `stopped PID ${found.pid} of ${tagName(found.tag)}: it ran on its tag, unknown to ${manager}` });
        }
        try {
          await adapter.start(requests.map(({ spec, restartInPlace }) => ({ spec, restartInPlace })));
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          const names = requests.map((request) => request.spec.name);
          context.onEvent({ type: "failed", name: names.join(", "), message, logTail: "" });
          throw new SwitchFailedError(`${names.join(", ")}: ${message}`);
        }
        for (const { spec } of requests) context.onEvent({ type: "ready", name: spec.name, pid: 0, ms: Date.now() - began });
      }),

    shutdown: async () => {
      await adapter.shutdown?.();
      // Everything is stopped: what still runs on a tag of this state dir outlived its manager.
      if (adapter.tagsProcesses === true) await stopEveryTagged(state.stateDir);
    },
  };
}

/**
 * From change.before to change.after: remove what only before had (if still procman's), write
 * what is missing or different, record, reload. The record is written before the reload, so a
 * crash leaves it naming what is on disk (the journal holds both sides as well).
 */
async function install(state: StateDir, adapter: ManagerAdapter, change: InstallChange): Promise<void> {
  const keep = new Set(change.files.map((file) => file.path));
  const removedNames = new Set<string>();
  // Links first: a link into the search path must never point at a file already gone.
  const stale = (change.before?.files ?? []).filter((file) => !keep.has(file.path)).sort((a, b) => Number(b.link !== undefined) - Number(a.link !== undefined));
  for (const file of stale) {
    if (!isOurs(change.before, file.path)) continue; // changed or replaced by someone else: left alone
    rmSync(file.path, { force: true });
    if (file.owner !== undefined) removedNames.add(file.owner);
  }
  // Regular files before the links that point at them.
  const ordered = [...change.files].sort((a, b) => Number(a.link !== undefined) - Number(b.link !== undefined));
  for (const file of ordered) {
    // Unchanged and no wider than its mode: a file holding an environment that someone (or an
    // older procman) left readable by others is written again, as a new file with its own mode.
    if (currentHash(file.path)?.hash === file.hash && (file.link !== undefined || !widerThan(file.path, file.mode ?? 0o644))) continue;
    makeDirectories(path.dirname(file.path), 0o755);
    if (file.link !== undefined) {
      if (exists(file.path)) rmSync(file.path, { force: true });
      symlinkSync(file.link, file.path);
    } else writeFileAtomic(file.path, file.contents ?? "", file.mode ?? 0o644);
  }
  writeInstallRecord(state.lib, change.after);
  await adapter.reload([...removedNames], change.after === undefined || change.after.files.length === 0);
}

/** The file's permission bits grant something `mode` does not. */
function widerThan(file: string, mode: number): boolean {
  try {
    return (lstatSync(file).mode & 0o7777 & ~mode) !== 0;
  } catch {
    return true;
  }
}

function exists(file: string): boolean {
  try {
    lstatSync(file);
    return true;
  } catch {
    return false;
  }
}
