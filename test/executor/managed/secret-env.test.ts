// The trust boundary for a model's environment, for supervisord, sysvinit and launchd: a value is
// in no file readable by others (generate --out and switch), and on no command line of any process
// the target starts (readable by every user in /proc/PID/cmdline) — daemon proxies, dependency
// wrappers and readiness checks included — while the service still gets exactly its variables.
// supervisord and the init scripts run for real; launchd through the fake launchctl, which runs
// the jobs for real.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readProcStat } from "../../../src/executor/proc.js";
import { MINIMAL_PATH } from "../../../src/model/defaults.js";
import { ROOT, fixture } from "../../helpers/paths.js";
import { makeTempDir } from "../../helpers/tmp.js";
import { haveTool } from "../../helpers/tools.js";

const BIN = path.join(ROOT, "dist", "src", "cli", "bin.js");
const FAKES = fixture("fakes");
const MANAGERS = ["supervisord", "sysvinit", "launchd"] as const;
type Manager = (typeof MANAGERS)[number];

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function envFor(manager: Manager, fake: string): Record<string, string> {
  // A variable of procman's own environment: no process may inherit it.
  const base = { ...process.env, LEAK_CANARY: "inherited" } as Record<string, string>;
  return manager === "launchd" ? { ...base, PATH: `${FAKES}:${process.env.PATH}`, FAKE_LAUNCHD_DIR: fake, FAKE_LAUNCHD_LINGER_MS: "100", FAKE_LAUNCHD_BUSY_ATTEMPTS: "0" } : base;
}

function procmanSync(args: string[], env: Record<string, string>): Run {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 120_000, env });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** procman, while every command line in /proc is checked for `needles` (every few ms) until it exits. */
async function procmanWatching(args: string[], env: Record<string, string>, needles: readonly string[]): Promise<Run & { seen: string[] }> {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => (stdout += String(chunk)));
  child.stderr.on("data", (chunk) => (stderr += String(chunk)));
  let done = false;
  const exit = new Promise<number | null>((resolve) => child.once("close", (code) => { done = true; resolve(code); }));
  const seen: string[] = [];
  while (!done) {
    seen.push(...commandLinesWith(needles));
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return { status: await exit, stdout, stderr, seen };
}

/** Every command line (with its PID) that contains one of `needles`. */
function commandLinesWith(needles: readonly string[]): string[] {
  const found: string[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, "latin1");
    } catch {
      continue;
    }
    if (needles.some((needle) => cmdline.includes(needle))) found.push(`${entry}: ${cmdline.replace(/\0/g, " ")}`);
  }
  return found;
}

/** The PIDs of live processes whose argv is exactly `argv`. */
function pidsOf(argv: readonly string[]): number[] {
  return readdirSync("/proc").filter((entry) => /^[0-9]+$/.test(entry)).map(Number).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "latin1") === `${argv.join("\0")}\0` && readProcStat(pid)?.state !== "Z";
    } catch {
      return false;
    }
  });
}

function environOf(pid: number): Record<string, string> {
  const text = readFileSync(`/proc/${pid}/environ`, "utf8");
  return Object.fromEntries(text.split("\0").filter(Boolean).map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]));
}

/** Every file under `dir` holding one of `needles`, with its permission bits. */
function filesHolding(dir: string, needles: readonly string[]): { file: string; mode: number }[] {
  if (!existsSync(dir)) return [];
  const out: { file: string; mode: number }[] = [];
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const text = readFileSync(file, "latin1");
    if (needles.some((needle) => text.includes(Buffer.from(needle, "utf8").toString("latin1")))) out.push({ file, mode: statSync(file).mode & 0o777 });
  }
  return out;
}

/** Readable and writable by the owner only: 0600, or 0700 for what is executed. */
function assertOwnerOnly(holding: readonly { file: string; mode: number }[], label: string): void {
  for (const { file, mode } of holding) {
    assert.ok(mode === 0o600 || mode === 0o700, `${label}: ${file} holds a secret value with mode ${mode.toString(8)}`);
  }
}

/** A value's bytes as supervisord's environment= carries what it cannot carry as it is (generators/exact-env.ts). */
const encodeValue = (value: string): string => [...Buffer.from(value, "utf8")].map((byte) => `\\0${byte.toString(8).padStart(3, "0")}`).join("");

interface Secrets {
  readonly plain: string;
  /** Both quotes, whitespace before ; and #, a line break: what supervisord's environment= cannot carry as it is. */
  readonly awkward: string;
  /** Every form a value could be written in (as it is, encoded). */
  readonly needles: string[];
}

function secrets(): Secrets {
  const plain = `procman-secret-${randomBytes(6).toString("hex")}`;
  const awkward = `"${plain}" it's ;x #y\nz'`;
  return { plain, awkward, needles: [plain, encodeValue(plain).slice(0, 40)] };
}

/**
 * web (foreground, initialize, after db) and db (a self-daemonizing program: behind a daemon proxy
 * that lives as long as it does), both with the secrets; db's daemon writes its PID file from the
 * environment.
 */
function writeModel(dir: string, state: string, tag: string, s: Secrets): string {
  const file = path.join(dir, "processes.json");
  const environment = { SECRET: s.plain, AWKWARD: s.awkward };
  writeFileSync(
    file,
    JSON.stringify({
      db: {
        daemon: "/bin/sh",
        daemonArgs: ["-c", `/bin/sleep ${tag}2 & echo $! > "$DB_PID"`],
        pidFile: path.join(state, "run", "db.pid"),
        environment: { ...environment, DB_PID: path.join(state, "run", "db.pid") },
        stop: { timeout: 2 },
      },
      web: {
        process: "/bin/sleep",
        args: [`${tag}1`],
        environment,
        initialize: '[ -n "$SECRET" ] && [ -z "$LEAK_CANARY" ]',
        activatesAfter: ["db"],
        stop: { timeout: 2 },
      },
    }),
  );
  return file;
}

for (const manager of MANAGERS) {
  test(`${manager}: generate --out writes a secret value only into owner-only files`, () => {
    const s = secrets();
    const state = makeTempDir();
    const out = path.join(makeTempDir(), "out");
    const result = procmanSync(["generate", writeModel(makeTempDir(), state, "39", s), "-P", manager, "--state-dir", state, "--out", out], envFor(manager, makeTempDir()));
    assert.is(result.status, 0, result.stdout + result.stderr);
    assert.not.match(result.stderr, "SECRET");
    const holding = filesHolding(out, s.needles);
    assert.ok(holding.length > 0, "the values are somewhere in the output");
    assertOwnerOnly(holding, "generate");
  });

  test(`${manager}: switch — the values in owner-only files only and on no command line; the service gets exactly its environment`, async () => {
    if (manager === "supervisord" && !haveTool("supervisord", "supervisord secret environment")) return;
    const s = secrets();
    const state = makeTempDir();
    const fake = makeTempDir();
    const env = envFor(manager, fake);
    const tag = String(31 + MANAGERS.indexOf(manager));
    const model = writeModel(makeTempDir(), state, tag, s);
    try {
      const result = await procmanWatching(["switch", model, "-P", manager, "--state-dir", state], env, s.needles);
      assert.is(result.status, 0, result.stdout + result.stderr);
      assert.equal(result.seen, [], "a secret value on a command line while switching");
      assert.equal(commandLinesWith(s.needles), [], "a secret value on a command line once running (a daemon proxy?)");
      assertOwnerOnly(filesHolding(state, s.needles), "switch");
      const [web] = pidsOf(["/bin/sleep", `${tag}1`]);
      const [db] = pidsOf(["/bin/sleep", `${tag}2`]);
      assert.ok(web !== undefined && db !== undefined, "both run");
      // And the tag procman adds where the manager runs on this host (found again if the manager dies).
      const tagged = manager === "supervisord" || manager === "sysvinit" ? { PROCMAN_TAG: `web:${manager}:${state}` } : {};
      assert.equal(environOf(web!), { SECRET: s.plain, AWKWARD: s.awkward, PATH: MINIMAL_PATH, ...tagged }, "web: exactly its environment");
      const dbEnv = environOf(db!);
      assert.is(dbEnv.SECRET, s.plain, "the daemon got its secret");
      assert.is(dbEnv.AWKWARD, s.awkward);
      assert.is(dbEnv.LEAK_CANARY, undefined, "nothing of procman's environment");
    } finally {
      assert.is(procmanSync(["stop", "--state-dir", state], env).status, 0);
    }
    assert.equal(pidsOf(["/bin/sleep", `${tag}1`]), []);
    assert.equal(pidsOf(["/bin/sleep", `${tag}2`]), []);
  });
}

test.run();
