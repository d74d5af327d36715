// What procman installed for another process manager, per state dir: each file or link with its
// content hash. Only what this record lists is ever overwritten, disabled, stopped or removed:
// "procman's" means listed here, in this state dir, and still as procman wrote it.
import { createHash } from "node:crypto";
import { lstatSync, readFileSync, readlinkSync } from "node:fs";
import path from "node:path";
import type { ProcessManagerName } from "../model/types.js";
import { writeFileAtomic } from "./atomic.js";

export interface InstalledFile {
  /** Absolute. */
  readonly path: string;
  /** sha256 of the contents, or of the link target for a link. */
  readonly hash: string;
  /** Set for a symbolic link: its target. */
  readonly link?: string;
  /** Octal mode of a regular file. */
  readonly mode?: number;
  /** The process the file belongs to; unset for shared files (a target, a dirs unit, the main config). */
  readonly owner?: string;
}

export interface InstallRecord {
  readonly manager: ProcessManagerName;
  readonly prefix: string;
  readonly files: readonly InstalledFile[];
}

/** A file to be there after install, with its contents (the record keeps only the hash). */
export interface PlannedFile extends InstalledFile {
  readonly contents?: string;
}

export interface InstallChange {
  readonly before: InstallRecord | undefined;
  readonly after: InstallRecord | undefined;
  /** Every file of `after`, with contents: written when missing or different. */
  readonly files: readonly PlannedFile[];
  /** Processes whose files differ between before and after. */
  readonly changed: ReadonlySet<string>;
}

export const NO_CHANGE: InstallChange = { before: undefined, after: undefined, files: [], changed: new Set() };

export function hashText(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function recordFile(lib: string): string {
  return path.join(lib, "installed.json");
}

export function readInstallRecord(lib: string): InstallRecord | undefined {
  let text: string;
  try {
    text = readFileSync(recordFile(lib), "utf8");
  } catch {
    return undefined;
  }
  try {
    const record = JSON.parse(text) as InstallRecord;
    return Array.isArray(record.files) ? record : undefined;
  } catch {
    return undefined;
  }
}

export function writeInstallRecord(lib: string, record: InstallRecord | undefined): void {
  writeFileAtomic(recordFile(lib), `${JSON.stringify(record ?? null)}\n`, 0o600);
}

/** What is at `file` now, in the record's terms; undefined when nothing is there. */
export function currentHash(file: string): { hash: string; link?: string } | undefined {
  let stat;
  try {
    stat = lstatSync(file);
  } catch {
    return undefined;
  }
  if (stat.isSymbolicLink()) {
    const link = readlinkSync(file);
    return { hash: hashText(link), link };
  }
  if (!stat.isFile()) return { hash: "not-a-file" };
  return { hash: hashText(readFileSync(file, "utf8")) };
}

/** Listed in the record and still exactly as procman left it. */
export function isOurs(record: InstallRecord | undefined, file: string): boolean {
  const entry = record?.files.find((candidate) => candidate.path === file);
  return entry !== undefined && currentHash(file)?.hash === entry.hash;
}

/** The union of two records (a crash between them leaves files of both on disk). */
export function unionRecords(a: InstallRecord | undefined, b: InstallRecord | undefined): InstallRecord | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  const files = new Map(a.files.map((file) => [file.path, file]));
  for (const file of b.files) if (!files.has(file.path) || isOursFile(file)) files.set(file.path, file);
  return { manager: b.manager, prefix: b.prefix, files: [...files.values()] };
}

function isOursFile(file: InstalledFile): boolean {
  return currentHash(file.path)?.hash === file.hash;
}
