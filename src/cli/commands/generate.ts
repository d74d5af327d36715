// procman generate: the model as another process manager's configuration, written to a directory.
// The directory's .procman-generated.json records what this command wrote (paths and content
// hashes), so that the next run removes what is no longer generated — and never a file it did not
// write or one changed by hand since (it warns instead).
import { createHash } from "node:crypto";
import { chmod, lstat, open, readFile, readlink, rename, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { InvalidArgumentError, Option, type Command } from "commander";
import { GENERATOR_NAMES, type GeneratorName } from "../../../generators/names.js";
import { GeneratorError, type GeneratedFile, type GeneratorOutput } from "../../../generators/types.js";
import { ProcmanError } from "../../errors.js";
import { resolveModelFile } from "../../resolve-model.js";
import { forceDisableUserChangeOption, loadTimeoutOption, parsePath, processManagerOption, resolveOptions, stateDirOption, type CommonOptions } from "../options.js";
import type { Output } from "../output.js";
import { makeDirectories } from "../../executor/atomic.js";
import { isInside, recordsDir } from "../../model/resolve/paths.js";

interface GenerateOptions extends CommonOptions {
  out?: string;
  userUnits?: boolean;
  prefix?: string;
  systemdVersion?: number;
}

export const MANIFEST = ".procman-generated.json";

/** What one run wrote: per relative path, the content's hash or the link's target. */
interface Manifest {
  readonly version: 1;
  readonly manager: string;
  readonly files: Readonly<Record<string, { readonly sha256: string } | { readonly symlink: string }>>;
}

export function registerGenerate(program: Command, io: Output): void {
  program
    .command("generate")
    .description("write systemd units, launchd plists, a supervisord config or sysvinit scripts for the model")
    .argument("<model>", "processes model")
    .addOption(processManagerOption(GENERATOR_NAMES).makeOptionMandatory())
    .option("--out <dir>", "directory to write the files to (default: ./procman-<manager>)", parsePath)
    .option("--prefix <prefix>", "namespace of every generated name: P-<name>.service, org.P.<name>, group P (default: procman)")
    .addOption(new Option("--systemd-version <n>", "systemd: the version to write units for; newer directives are left out (default: 252)").argParser(parseVersion))
    .option("--user-units", "systemd: units for `systemctl --user` (no User=/Group=)")
    .addOption(stateDirOption())
    .addOption(forceDisableUserChangeOption())
    .addOption(loadTimeoutOption())
    .addHelpText("after", "\nExample:\n  procman generate processes.ts -P systemd --out units/\n")
    .action(async (file: string, options: GenerateOptions) => {
      const manager = options.processManager as GeneratorName;
      const model = await resolveModelFile(file, resolveOptions(options, manager));
      const out = path.resolve(options.out ?? `procman-${manager}`);
      let output: GeneratorOutput;
      try {
        const { GENERATORS } = await import("../../../generators/index.js");
        output = GENERATORS[manager](model, {
          userUnits: options.userUnits === true,
          ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
          ...(options.systemdVersion !== undefined ? { systemdVersion: options.systemdVersion } : {}),
          installDir: out,
        });
      } catch (error) {
        if (error instanceof GeneratorError) throw new ProcmanError(error.code, error.message, error.exitCode);
        throw error;
      }
      for (const warning of output.warnings) io.err(`procman: warning: ${warning}\n`);
      const records = recordsDir(model.context);
      if (isInside(out, records)) throw new ProcmanError("EOUT", `--out ${out} is inside procman's own records (${records})`, 2);
      const previous = await readManifest(out, io);
      // Before anything is written: what is in the way and not procman's stops the run.
      for (const generated of output.files) await checkTarget(out, generated, previous);
      makeDirectories(out);
      const written: Record<string, Manifest["files"][string]> = {};
      for (const generated of output.files) {
        await writeGenerated(out, generated);
        written[generated.path] = generated.symlink !== undefined ? { symlink: generated.symlink } : { sha256: sha256(generated.contents) };
      }
      const removed = await removeObsolete(out, previous, new Set(output.files.map((generated) => generated.path)), io);
      const manifest: Manifest = { version: 1, manager, files: written };
      const temp = path.join(out, `${MANIFEST}.${process.pid}.tmp`);
      await writeFile(temp, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644 });
      await rename(temp, path.join(out, MANIFEST));
      io.out(`wrote ${output.files.length} files for ${manager} to ${out}${removed > 0 ? `; removed ${removed} no longer generated` : ""}\n`);
      if (output.steps.length > 0) {
        io.err(`next steps:\n${output.steps.map((step, index) => `  ${index + 1}. ${step}\n`).join("")}`);
      }
    });
}

function parseVersion(text: string): number {
  if (!/^[0-9]{1,4}$/.test(text)) throw new InvalidArgumentError("must be a systemd version number such as 252");
  return Number(text);
}

/** Of the bytes: a file that is not valid UTF-8 must not hash like its decoded text. */
function sha256(contents: string | Buffer): string {
  return createHash("sha256").update(typeof contents === "string" ? Buffer.from(contents, "utf8") : contents).digest("hex");
}

/** A path from the manifest that stays inside the directory (the manifest is input: it may be edited). */
function insideOut(out: string, relative: string): string | undefined {
  if (path.isAbsolute(relative) || relative.split(/[\\/]/).includes("..") || relative === "" || relative === MANIFEST) return undefined;
  return path.join(out, relative);
}

async function readManifest(out: string, io: Output): Promise<Manifest | undefined> {
  const file = path.join(out, MANIFEST);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ProcmanError("EMANIFEST", `cannot read ${file}: ${(error as Error).message}`, 1);
  }
  try {
    const parsed = JSON.parse(text) as Manifest;
    if (parsed?.version === 1 && typeof parsed.files === "object" && parsed.files !== null) return parsed;
  } catch {
    // reported below
  }
  io.err(`procman: warning: ${file} is not a record procman wrote; no old file is removed\n`);
  return undefined;
}

const MARKER = "Generated by procman";

/**
 * A file already at a generated path is replaced only when it is procman's: named by the last
 * run's manifest, marked as generated, or the same already. A hand-written file or a directory
 * there fails the run (exit 1) before anything is written.
 */
async function checkTarget(out: string, generated: GeneratedFile, previous: Manifest | undefined): Promise<void> {
  const target = path.join(out, generated.path);
  let info;
  try {
    info = await lstat(target);
  } catch {
    return; // nothing there (or nothing reachable: the write names the problem)
  }
  const refuse = (what: string) => {
    throw new ProcmanError("EOUT", `cannot write ${target}: ${what}; move it away (nothing was written)`, 1);
  };
  if (info.isDirectory()) refuse("a directory is there");
  if (previous?.files[generated.path] !== undefined) return;
  if (info.isSymbolicLink()) {
    if (generated.symlink !== undefined && (await readlink(target)) === generated.symlink) return;
    refuse(`a symlink procman did not make is there (not in ${MANIFEST})`);
  }
  if (!info.isFile()) refuse("something other than a file is there");
  // The first 64 KiB are enough to tell: a marker sits at the top, and a same file is as long.
  const head = Buffer.alloc(64 * 1024);
  const handle = await open(target, "r");
  let length: number;
  try {
    length = (await handle.read(head, 0, head.length, 0)).bytesRead;
  } finally {
    await handle.close();
  }
  const text = head.subarray(0, length).toString("utf8");
  if (text.includes(MARKER)) return;
  if (generated.symlink === undefined && info.size === Buffer.byteLength(generated.contents) && sha256(await readFile(target)) === sha256(generated.contents)) return;
  refuse(`a file procman did not write is there (not in ${MANIFEST}, no "${MARKER}" line)`);
}

async function writeGenerated(out: string, generated: GeneratedFile): Promise<void> {
  const target = path.join(out, generated.path);
  makeDirectories(path.dirname(target));
  // Removed first: the new file gets its own mode (a 0600 environment file never inherits 0644).
  await rm(target, { force: true });
  if (generated.symlink !== undefined) await symlink(generated.symlink, target);
  else {
    await writeFile(target, generated.contents, { mode: generated.mode & 0o600, flag: "wx" });
    await chmod(target, generated.mode);
  }
}

/** Removes what the last run wrote and this one does not, if it is still as written; returns how many. */
async function removeObsolete(out: string, previous: Manifest | undefined, current: ReadonlySet<string>, io: Output): Promise<number> {
  let removed = 0;
  for (const [relative, recorded] of Object.entries(previous?.files ?? {})) {
    if (current.has(relative)) continue;
    const target = insideOut(out, relative);
    if (target === undefined) {
      io.err(`procman: warning: ${MANIFEST} names ${JSON.stringify(relative)}, outside ${out}; left alone\n`);
      continue;
    }
    let info;
    try {
      info = await lstat(target);
    } catch {
      continue; // already gone
    }
    const unchanged = "symlink" in recorded
      ? info.isSymbolicLink() && (await readlink(target)) === recorded.symlink
      : info.isFile() && sha256(await readFile(target)) === recorded.sha256;
    if (!unchanged) {
      io.err(`procman: warning: ${target} is no longer generated but was changed since procman wrote it; left alone\n`);
      continue;
    }
    await rm(target, { force: true });
    removed++;
  }
  return removed;
}
