// procman logs: the tail of each process's log, rotated files included (NAME.log.1 … are older
// parts of the same stream: a line cut by rotation is joined again). With no name or several, each
// line is marked with its process's name; -f keeps printing what is appended, interleaved as it
// comes. Logs are service-writable: opened without following a symlink, never a FIFO, read in bounds.
import { closeSync, readSync } from "node:fs";
import { Option, InvalidArgumentError, type Command } from "commander";
import { ProcmanError } from "../../errors.js";
import { sleep } from "../../executor/readiness.js";
import { openServiceFile, UnsafeFileError } from "../../executor/safe-file.js";
import { StateDir } from "../../executor/state-dir.js";
import type { ResolvedProcess } from "../../model/types.js";
import { resolveStateDir, stateDirOption, type CommonOptions } from "../options.js";
import type { Output } from "../output.js";

/** How far back `-n` reads per process before it says that it stopped. */
export const READ_BACK_LIMIT = 8 * 1024 * 1024;
/** Most bytes one `-f` poll takes from one log (the rest comes with the next poll). */
const FOLLOW_CHUNK = 1024 * 1024;
const MAX_ROTATED = 1000;
const COLOURS = [36, 33, 32, 35, 34, 31, 96, 93, 92, 95, 94, 91];

export function registerLogs(program: Command, io: Output): void {
  program
    .command("logs")
    .description("print the end of processes' logs (stdout and stderr of what procman daemonized), rotated files included")
    .argument("[names...]", "process names (default: every process, each line marked with its name)")
    .addOption(stateDirOption())
    .option("-f, --follow", "keep printing what is appended, interleaved as it comes (Ctrl-C to stop)")
    .addOption(new Option("-n, --lines <n>", "how many lines from the end, per process").default(50).argParser(parseCount))
    .action(async (names: string[], options: CommonOptions & { follow?: boolean; lines: number }) => {
      const processes = selectProcesses(resolveStateDir(options.stateDir), names);
      const marked = names.length !== 1;
      const width = Math.max(...processes.map((spec) => spec.name.length));
      const prefixes = new Map(
        processes.map((spec, i) => {
          if (!marked) return [spec.name, ""];
          const label = `${spec.name.padEnd(width)} | `;
          return [spec.name, io.colour ? `\x1b[${COLOURS[i % COLOURS.length]}m${label}\x1b[0m` : label];
        }),
      );
      const followers: Follower[] = [];
      for (const spec of processes) {
        const tail = readTail(spec.logFile, options.lines, READ_BACK_LIMIT);
        for (const warning of tail.warnings) io.err(`procman: ${spec.name}: ${warning}\n`);
        const prefix = prefixes.get(spec.name)!;
        if (tail.lines.length > 0) io.out(tail.lines.map((line) => `${prefix}${line}\n`).join(""));
        followers.push({ spec, prefix, offset: tail.size, ino: tail.ino, partial: Buffer.alloc(0) });
      }
      while (options.follow === true) {
        await sleep(200);
        for (const follower of followers) {
          const text = follow(follower, io);
          if (text !== "") io.out(text);
        }
      }
    });
}

function parseCount(value: string): number {
  if (!/^[0-9]+$/.test(value)) throw new InvalidArgumentError("must be a whole number");
  return Number(value);
}

function selectProcesses(stateDir: string, names: readonly string[]): ResolvedProcess[] {
  const state = new StateDir(stateDir);
  const current = state.readCurrent();
  const model = current !== undefined ? state.readGeneration(current.generation).model : undefined;
  const all = model?.processes ?? [];
  const known = all.map((spec) => spec.name).join(", ");
  if (names.length === 0) {
    if (all.length === 0) throw new ProcmanError("EUNKNOWN", "nothing deployed: no logs to show", 2);
    return [...all];
  }
  return [...new Set(names)].map((name) => {
    const spec = all.find((candidate) => candidate.name === name);
    if (spec === undefined) {
      throw new ProcmanError("EUNKNOWN", `no process "${name}" in the deployed generation${known === "" ? " (nothing deployed)" : ` (known: ${known})`}`, 2);
    }
    return spec;
  });
}

export interface Tail {
  readonly lines: string[];
  /** Size of the live log when read: -f goes on from here. */
  readonly size: number;
  readonly ino: number | undefined;
  readonly warnings: string[];
}

/**
 * The last `count` lines of the stream NAME.log.<k> … NAME.log.1, NAME.log, read backwards in blocks
 * until enough newlines are seen, the oldest file begins, or `limit` bytes were read.
 */
export function readTail(file: string, count: number, limit: number): Tail {
  const warnings: string[] = [];
  const parts: { fd: number; size: number }[] = [];
  let size = 0;
  let ino: number | undefined;
  try {
    for (let n = 0; n <= MAX_ROTATED; n++) {
      const name = n === 0 ? file : `${file}.${n}`;
      let opened;
      try {
        opened = openServiceFile(name);
      } catch (error) {
        if (!(error instanceof UnsafeFileError)) throw error;
        warnings.push(`${error.message}: not shown`);
        break;
      }
      if (opened === undefined) {
        if (n === 0) continue; // no live log yet; rotated ones may still exist
        break;
      }
      if (n === 0) {
        size = opened.stat.size;
        ino = opened.stat.ino;
      }
      parts.push({ fd: opened.fd, size: opened.stat.size });
    }
    if (count === 0) return { lines: [], size, ino, warnings };
    const chunks: Buffer[] = [];
    let newlines = 0;
    let read = 0;
    let complete = false;
    outer: for (const [index, part] of parts.entries()) {
      let end = part.size;
      while (end > 0) {
        if (read >= limit) break outer;
        const length = Math.min(64 * 1024, end, limit - read);
        const buffer = Buffer.alloc(length);
        let got = 0;
        while (got < length) {
          const n = readSync(part.fd, buffer, got, length - got, end - length + got);
          if (n === 0) break;
          got += n;
        }
        chunks.unshift(buffer.subarray(0, got));
        read += got;
        end -= length;
        for (const byte of buffer.subarray(0, got)) if (byte === 0x0a) newlines++;
        // count lines need count + 1 newlines (the one before the first), or the stream's start.
        if (newlines > count) break outer;
      }
      if (index === parts.length - 1) complete = true;
    }
    const text = Buffer.concat(chunks).toString("utf8");
    const lines = text.split("\n");
    if (lines.at(-1) === "") lines.pop();
    const tail = lines.slice(-count);
    if (!complete && newlines <= count) {
      warnings.push(`stopped reading back after ${limit} bytes; showing the last ${Math.max(0, tail.length - 1)} lines, not ${count}`);
      // The first piece is a line cut by the limit, not a whole line.
      tail.shift();
    }
    return { lines: tail, size, ino, warnings };
  } finally {
    for (const part of parts) closeSync(part.fd);
  }
}

interface Follower {
  readonly spec: ResolvedProcess;
  readonly prefix: string;
  offset: number;
  ino: number | undefined;
  /** Bytes after the last newline: a line still being written (kept as bytes: a character may be cut). */
  partial: Buffer;
}

/** What was appended since the last look, as whole lines (marked), the rest kept for later. */
function follow(follower: Follower, io: Output): string {
  let opened;
  try {
    opened = openServiceFile(follower.spec.logFile);
  } catch (error) {
    if (error instanceof UnsafeFileError) io.err(`procman: ${follower.spec.name}: ${error.message}: not followed\n`);
    return "";
  }
  if (opened === undefined) return "";
  try {
    const { size, ino } = opened.stat;
    if (follower.ino !== undefined && ino !== follower.ino) follower.offset = 0; // replaced
    else if (size < follower.offset) {
      // Rotated: the cut prefix is NAME.log.1 now (collapse-range), or all of the old file (copy-truncate).
      const rotated = openServiceFile(`${follower.spec.logFile}.1`);
      const cut = rotated?.stat.size ?? follower.offset;
      if (rotated !== undefined) closeSync(rotated.fd);
      follower.offset = Math.max(0, follower.offset - cut);
    }
    follower.ino = ino;
    if (size <= follower.offset) return "";
    const length = Math.min(FOLLOW_CHUNK, size - follower.offset);
    const buffer = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const n = readSync(opened.fd, buffer, got, length - got, follower.offset + got);
      if (n === 0) break;
      got += n;
    }
    follower.offset += got;
    const bytes = Buffer.concat([follower.partial, buffer.subarray(0, got)]);
    const end = bytes.lastIndexOf(0x0a);
    follower.partial = Buffer.from(bytes.subarray(end + 1));
    if (end < 0) return "";
    return bytes
      .subarray(0, end)
      .toString("utf8")
      .split("\n")
      .map((line) => `${follower.prefix}${line}\n`)
      .join("");
  } finally {
    closeSync(opened.fd);
  }
}
