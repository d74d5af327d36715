// Shared by the generator tests: the hostile model (arguments and environment values that break
// naive quoting), the fixtures that report how they were started, and helpers for real processes
// (polling with deadlines, liveness from /proc, cleanup).
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import * as assert from "uvu/assert";
import { GeneratorError, type GeneratorOutput } from "../../generators/types.js";
import { createContext } from "../../src/model/context.js";
import { MINIMAL_PATH } from "../../src/model/normalize.js";
import type { ResolvedModel } from "../../src/model/types.js";
import { resolveModel, resolveModelFile } from "../../src/resolve-model.js";
import { EXAMPLES, fixture } from "../helpers/paths.js";
import { makeTempDir } from "../helpers/tmp.js";

export const NODE = "/usr/bin/node";
export const REPORT = fixture("generators", "report.mjs");
export const DAEMON = fixture("generators", "daemon.mjs");
export { MINIMAL_PATH };

/** Arguments every target can carry: one line each. */
export const HOSTILE_ARGS: readonly string[] = [
  "with space",
  "  leading and trailing  ",
  "single ' quote",
  'double " quote',
  "'",
  '"',
  "''",
  '""',
  "$",
  "$HOME",
  "${X}",
  "$X$",
  "$$",
  "%",
  "%n",
  "%%",
  "100%",
  "%(here)s",
  "%(ENV_HOME)s",
  "%{http_code}",
  ";",
  " ;",
  "a ;b",
  "\\;",
  "#",
  " #",
  "a #b",
  "back\\slash",
  "\\",
  "trailing\\",
  "\\\\",
  "\\n",
  "\\x41",
  "\\u00e9",
  "tab\there",
  "\t",
  "",
  "ünï €",
  "日本語",
  "`id`",
  "$(echo pwned)",
  "*",
  "?",
  "~",
  "!",
  "&",
  "&amp;",
  "<tag>",
  "a|b",
  "-",
  "--flag=value",
  "a=b",
  "@",
  "=",
  "]]>",
  "\u00a0nbsp\u2003emspace",
  "\u007f",
];

/** Line breaks: systemd, launchd and sysvinit carry them; supervisord refuses them. */
export const MULTILINE_ARGS: readonly string[] = ["real\nnewline", "\n", "cr\rhere", "crlf\r\n", "trailing newline\n"];

/** Environment values every target can carry (one line). */
export const HOSTILE_ENV: Readonly<Record<string, string>> = {
  X: "x-value",
  SPACE: "with space",
  PADDED: "  padded\t ",
  SINGLE: "single ' quote",
  DOUBLE: 'double " quote',
  BOTH: `both ' and " quotes`,
  STARTS_WITH_QUOTE: '"quoted"',
  STARTS_WITH_SINGLE: "'single'",
  DOLLAR: "$HOME ${X} $",
  DOUBLE_DOLLAR: "$$",
  PERCENT: "100% %n %% %(here)s",
  SEMICOLON: "a ;b ; c",
  HASH: "a #b # c",
  BACKSLASH: "back\\slash \\n \\ \\\\ \\x41",
  TRAILING_BACKSLASH: "end\\",
  TAB: "tab\there",
  EMPTY: "",
  EQUALS: "a=b=c",
  UNICODE: "ünï €",
  BACKTICK: "`id` $(echo pwned)",
  XML: "<a> & </a> ]]>",
};

export const MULTILINE_ENV: Readonly<Record<string, string>> = {
  NEWLINE: "line one\nline two",
  CR: "cr\rhere",
};

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface HostileOptions {
  /** Where reports go; the state dir is inside it. */
  readonly dir: string;
  readonly multiline: boolean;
  /** The port `first` opens (after delayMs) and `second` waits for. */
  readonly port: number;
  readonly delayMs?: number;
  /** A state dir name with a space and "%" tests the paths of PID and log files. */
  readonly stateDirName?: string;
}

export interface Hostile {
  readonly model: ResolvedModel;
  readonly stateDir: string;
  readonly workDir: string;
  /** Declared argv (executable first) by process name. */
  readonly argv: Readonly<Record<string, readonly string[]>>;
  /** Declared environment by process name: what the program must get, exactly. */
  readonly env: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly reportFile: (name: string) => string;
}

/** The hostile model: `first` (readiness: tcp) and `second`, which activatesAfter `first`. */
export function hostileModel(options: HostileOptions): Hostile {
  const stateDir = path.join(options.dir, options.stateDirName ?? "state 100% ünï");
  const workDir = path.join(options.dir, "work dir %n ü");
  mkdirSync(workDir, { recursive: true });
  const args = options.multiline ? [...HOSTILE_ARGS, ...MULTILINE_ARGS] : HOSTILE_ARGS;
  const baseEnv = options.multiline ? { ...HOSTILE_ENV, ...MULTILINE_ENV } : HOSTILE_ENV;
  const reportFile = (name: string) => path.join(options.dir, `${name}.json`);
  const exported = {
    first: {
      description: `Hostile "first" 100% $HOME; #not a comment ünï`,
      foregroundProcess: NODE,
      args: [REPORT, ...args],
      environment: {
        ...baseEnv,
        REPORT_FILE: reportFile("first"),
        LISTEN_PORT: String(options.port),
        LISTEN_DELAY_MS: String(options.delayMs ?? 0),
      },
      directory: workDir,
      readiness: { tcp: { port: options.port }, timeout: 20 },
      stop: { timeout: 5 },
      restart: "no",
    },
    second: {
      description: "Depends on first",
      foregroundProcess: NODE,
      args: [REPORT, "second", ...args.slice().reverse()],
      environment: { ...baseEnv, REPORT_FILE: reportFile("second") },
      activatesAfter: ["first"],
      stop: { timeout: 5 },
      restart: "no",
    },
  };
  const model = resolveModel(exported, createContext({ stateDir, modelDir: options.dir }), { nameMustMatchKey: false });
  const argv: Record<string, string[]> = {};
  const env: Record<string, Record<string, string>> = {};
  for (const [name, process] of Object.entries(exported)) {
    argv[name] = [process.foregroundProcess, ...process.args];
    env[name] = { ...process.environment, PATH: MINIMAL_PATH };
  }
  return { model, stateDir, workDir, argv, env, reportFile };
}

/** Every example model: examples/<name>/processes.{ts,yaml,yml,json}. */
export function exampleFiles(): string[] {
  const files: string[] = [];
  for (const dir of readdirSync(EXAMPLES, { withFileTypes: true })) {
    if (!dir.isDirectory()) continue;
    for (const ext of ["ts", "mts", "js", "mjs", "yaml", "yml", "json"]) {
      const file = path.join(EXAMPLES, dir.name, `processes.${ext}`);
      if (existsSync(file)) files.push(file);
    }
  }
  assert.ok(files.length >= 2, `expected example models under ${EXAMPLES}`);
  return files;
}

export async function resolveExample(file: string, stateDir: string, processManager: "systemd" | "launchd" | "supervisord" | "sysvinit"): Promise<ResolvedModel> {
  return resolveModelFile(file, { stateDir, processManager });
}

/** Writes a generator's files (and symlinks) under dir; returns dir. */
export function writeOutput(output: GeneratorOutput, dir: string = makeTempDir("procman-gen-")): string {
  for (const file of output.files) {
    const target = path.join(dir, file.path);
    mkdirSync(path.dirname(target), { recursive: true });
    if (file.symlink !== undefined) symlinkSync(file.symlink, target);
    else writeFileSync(target, file.contents, { mode: file.mode });
  }
  return dir;
}

export function fileOf(output: GeneratorOutput, filePath: string): string {
  const file = output.files.find((candidate) => candidate.path === filePath);
  assert.ok(file !== undefined, `no generated file ${filePath} (have: ${output.files.map((f) => f.path).join(", ")})`);
  return file!.contents;
}

// ---- what the fixture reports ----

export interface Report {
  readonly pid: number;
  readonly started: number;
  readonly argv: string[];
  readonly env: Record<string, string>;
  readonly cwd: string;
  readonly umask: string | undefined;
  readonly nice: number;
  readonly uid: number;
  readonly gid: number;
  readonly session: number;
  readonly rawCmdline: Buffer;
  readonly rawEnviron: Buffer;
}

function splitNul(raw: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (let index = 0; index < raw.length; index++) {
    if (raw[index] === 0) {
      parts.push(raw.subarray(start, index));
      start = index + 1;
    }
  }
  assert.is(start, raw.length, "NUL-terminated");
  return parts;
}

export function readReport(file: string): Report {
  const json = JSON.parse(readFileSync(file, "utf8")) as Omit<Report, "argv" | "env" | "rawCmdline" | "rawEnviron"> & { cmdline: string; environ: string };
  const rawCmdline = Buffer.from(json.cmdline, "base64");
  const rawEnviron = Buffer.from(json.environ, "base64");
  const argv = splitNul(rawCmdline).map((part) => part.toString("utf8"));
  const env: Record<string, string> = {};
  for (const entry of splitNul(rawEnviron)) {
    const text = entry.toString("utf8");
    const eq = text.indexOf("=");
    assert.ok(eq > 0, `environment entry without "=": ${JSON.stringify(text)}`);
    const key = text.slice(0, eq);
    assert.not.ok(key in env, `variable ${key} given twice`);
    env[key] = text.slice(eq + 1);
  }
  const { cmdline: _cmdline, environ: _environ, ...rest } = json;
  return { ...rest, argv, env, rawCmdline, rawEnviron };
}

/** argv and environment arrived byte for byte as declared: nothing added, nothing lost. */
export function assertStartedAsDeclared(report: Report, argv: readonly string[], env: Readonly<Record<string, string>>, label: string): void {
  assert.equal(report.argv, [...argv], `${label}: argv`);
  assert.ok(report.rawCmdline.equals(Buffer.from(`${argv.join("\0")}\0`, "utf8")), `${label}: argv bytes`);
  const sorted = (record: Readonly<Record<string, string>>) => Object.keys(record).sort().map((key) => `${key}=${record[key]}`);
  assert.equal(sorted(report.env), sorted(env), `${label}: environment`);
  const rawEntries = splitNul(report.rawEnviron).map((entry) => entry.toString("hex")).sort();
  const expectedEntries = Object.entries(env).map(([key, value]) => Buffer.from(`${key}=${value}`, "utf8").toString("hex")).sort();
  assert.equal(rawEntries, expectedEntries, `${label}: environment bytes`);
}

// ---- real processes ----

/** Alive and not a zombie (a zombie is dead, though kill(pid, 0) still succeeds on it). */
export function isAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return false;
  }
  const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  return state !== "Z" && state !== "X";
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a value other than undefined/false, or fails after timeoutMs. */
export async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 20_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** The report once it exists. */
export function waitForReport(file: string, timeoutMs = 20_000): Promise<Report> {
  return waitFor(`the report ${file}`, () => (existsSync(file) ? readReport(file) : undefined), timeoutMs);
}

/** Every PID whose /proc/PID/cmdline mentions `marker` (our temp dir): what a test must leave behind is none. */
export function processesMentioning(marker: string): number[] {
  const pids: number[] = [];
  const needle = Buffer.from(marker);
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`).includes(needle) || readFileSync(`/proc/${entry}/environ`).includes(needle)) {
        if (isAlive(Number(entry))) pids.push(Number(entry));
      }
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

/** Last resort in `finally`: SIGKILL whatever is left (the assertions have already failed then). */
export function killAll(pids: Iterable<number>): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}

export interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(command: string, args: readonly string[], options: SpawnSyncOptions = {}): Run {
  const result = spawnSync(command, args, { encoding: "utf8", timeout: 60_000, ...options });
  if (result.error !== undefined) throw result.error;
  return { status: result.status, stdout: String(result.stdout ?? ""), stderr: String(result.stderr ?? "") };
}

export const show = (run: Run) => `exit ${run.status}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;

/** A model in memory, resolved as a model file in `dir` would be for this manager. */
export function resolveFor(
  processManager: "systemd" | "launchd" | "supervisord" | "sysvinit",
  exported: unknown,
  dir: string,
): ResolvedModel {
  return resolveModel(exported, createContext({ stateDir: path.join(dir, "state"), modelDir: dir, processManager }), { nameMustMatchKey: false });
}

/** The GeneratorError that `run` must throw. */
export function generatorError(run: () => unknown): GeneratorError {
  try {
    run();
  } catch (error) {
    if (error instanceof GeneratorError) return error;
    throw error;
  }
  throw new Error("expected a GeneratorError");
}
