// procman logs: the tail of each process's log, rotated files included (NAME.log.1 … are older
// parts of the same stream: a line cut by rotation is joined again). With no name or several, each
// line is marked with its process's name; -f keeps printing what is appended, interleaved as it
// comes. Reading is supervisor/log-reader's (no symlink followed, bounded).
import { Option, InvalidArgumentError, type Command } from "commander";
import { ProcmanError } from "../../errors.js";
import { sleep } from "../../executor/readiness.js";
import { StateDir } from "../../executor/state-dir.js";
import type { ResolvedProcess } from "../../model/types.js";
import { LogFollower, UnsafeFileError, readTail } from "../../supervisor/log-reader.js";
import { resolveStateDir, stateDirOption, type CommonOptions } from "../options.js";
import type { Output } from "../output.js";

/** How far back `-n` reads per process before it says that it stopped. */
export const READ_BACK_LIMIT = 8 * 1024 * 1024;
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
      const followers: { name: string; prefix: string; follower: LogFollower }[] = [];
      for (const spec of processes) {
        const tail = readTail(spec.logFile, options.lines, READ_BACK_LIMIT);
        for (const warning of tail.warnings) io.err(`procman: ${spec.name}: ${warning}\n`);
        const prefix = prefixes.get(spec.name)!;
        if (tail.lines.length > 0) io.out(tail.lines.map((line) => `${prefix}${line}\n`).join(""));
        followers.push({ name: spec.name, prefix, follower: new LogFollower(spec.logFile, tail.size, tail.ino) });
      }
      const refused = new Set<string>();
      while (options.follow === true) {
        await sleep(200);
        for (const { name, prefix, follower } of followers) {
          if (refused.has(name)) continue;
          let lines: string[];
          try {
            lines = follower.poll();
          } catch (error) {
            if (!(error instanceof UnsafeFileError)) throw error;
            io.err(`procman: ${name}: ${error.message}: not followed\n`);
            refused.add(name); // said once, not every poll
            continue;
          }
          if (lines.length > 0) io.out(lines.map((line) => `${prefix}${line}\n`).join(""));
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

