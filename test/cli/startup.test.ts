// procman startup through the built binary: the file on stdout (steps on stderr) or in --out, and
// --install into an override root (never this host's /etc): the boot manager's directory, systemd's
// [Install] links made by the real `systemctl --root`, a file procman did not write refused with
// exit 2 and left as it was.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { chownSync, lstatSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { BIN, procman, show } from "../helpers/cli.js";
import { makeTempDir } from "../helpers/tmp.js";
import { haveTool } from "../helpers/tools.js";

const asRoot = process.getuid?.() === 0;
/** A state dir, absent: startup only names it. */
const stateDirOf = () => path.join(makeTempDir("procman-startup-cli-"), "state");

test("--help: exit 0, the flags and what runs at boot", async () => {
  const run = await procman(["startup", "--help"]);
  assert.is(run.code, 0, show(run));
  for (const flag of ["--process-manager", "--state-dir", "--install", "--out", "--prefix", "--root"]) assert.match(run.stdout, flag);
  assert.match(run.stdout, "start --state-dir DIR");
});

test("no --out: the unit on stdout (the running node and procman, the absolute state dir), the install steps on stderr", async () => {
  const cwd = makeTempDir("procman-startup-cwd-");
  const run = await procman(["startup", "-P", "systemd", "--state-dir", "rel/state"], { cwd });
  assert.is(run.code, 0, show(run));
  const stateDir = path.join(cwd, "rel", "state");
  assert.match(run.stdout, `ExecStart="${process.execPath}" "${BIN}" "start" "--state-dir" "${stateDir}"\n`);
  assert.match(run.stdout, "[Install]\n");
  assert.match(run.stderr, /install steps/);
  assert.match(run.stderr, asRoot ? "/etc/systemd/system/procman-startup.service" : ".config/systemd/user/procman-startup.service");
  assert.match(run.stderr, `warning: ${stateDir} does not exist yet`);
});

test("--out DIR: the file written with its mode; written again over its own; a foreign file of that name is refused (exit 2) and kept", async () => {
  const out = makeTempDir("procman-startup-out-");
  const stateDir = stateDirOf();
  const first = await procman(["startup", "-P", "sysvinit", "--state-dir", stateDir, "--out", out]);
  assert.is(first.code, 0, show(first));
  const file = path.join(out, "procman-startup");
  assert.is(statSync(file).mode & 0o777, 0o755);
  assert.match(readFileSync(file, "utf8"), `STATE_DIR='${stateDir}'`);
  assert.match(first.stdout, `wrote ${file}`);
  assert.match(first.stderr, "update-rc.d procman-startup defaults");
  const again = await procman(["startup", "-P", "sysvinit", "--state-dir", stateDir, "--out", out]);
  assert.is(again.code, 0, show(again));

  writeFileSync(file, "#!/bin/sh\n# someone's own script\n");
  const refused = await procman(["startup", "-P", "sysvinit", "--state-dir", stateDir, "--out", out]);
  assert.is(refused.code, 2, show(refused));
  assert.match(refused.stderr, `${file} exists and was not written by procman startup`);
  assert.is(readFileSync(file, "utf8"), "#!/bin/sh\n# someone's own script\n");
});

test("--install --root (systemd): the unit in etc/systemd/system and the real systemctl --root enables it; again: unchanged", async () => {
  if (!asRoot) {
    console.log("  SKIP --install --root systemd: needs root (a user's --install writes a user unit, tested by the generator)");
    return;
  }
  if (!haveTool("systemctl", "startup --install systemd")) return;
  const root = makeTempDir("procman-startup-root-");
  const stateDir = stateDirOf();
  const run = await procman(["startup", "-P", "systemd", "--state-dir", stateDir, "--install", "--root", root, "--prefix", "app"]);
  assert.is(run.code, 0, show(run));
  const unit = path.join(root, "etc/systemd/system/app-startup.service");
  assert.match(run.stdout, `installed ${unit}`);
  assert.match(readFileSync(unit, "utf8"), `"--state-dir" "${stateDir}"`);
  const link = path.join(root, "etc/systemd/system/multi-user.target.wants/app-startup.service");
  assert.ok(lstatSync(link).isSymbolicLink(), "systemctl enable made the WantedBy= link");
  assert.is(readlinkSync(link), "/etc/systemd/system/app-startup.service");
  const again = await procman(["startup", "-P", "systemd", "--state-dir", stateDir, "--install", "--root", root, "--prefix", "app"]);
  assert.is(again.code, 0, show(again));
  assert.match(again.stdout, "already installed, unchanged");
});

test("--install --root (sysvinit, launchd): into etc/init.d (0755; update-rc.d left to the operator) and Library/LaunchDaemons", async () => {
  if (!asRoot) {
    console.log("  SKIP --install --root sysvinit/launchd: needs root (the system's directories)");
    return;
  }
  const root = makeTempDir("procman-startup-root-");
  const stateDir = stateDirOf();
  const sysv = await procman(["startup", "-P", "sysvinit", "--state-dir", stateDir, "--install", "--root", root]);
  assert.is(sysv.code, 0, show(sysv));
  const script = path.join(root, "etc/init.d/procman-startup");
  assert.is(statSync(script).mode & 0o777, 0o755);
  assert.match(sysv.stderr, "update-rc.d procman-startup defaults");
  assert.not.ok(existsSync(path.join(root, "etc/rc2.d")), "nothing but the script under --root");
  const launchd = await procman(["startup", "-P", "launchd", "--state-dir", stateDir, "--install", "--root", root]);
  assert.is(launchd.code, 0, show(launchd));
  assert.match(readFileSync(path.join(root, "Library/LaunchDaemons/org.procman.startup.plist"), "utf8"), "<key>RunAtLoad</key>\n  <true/>");
});

test("--install refuses (exit 2, naming it) a foreign file and a symbolic link where the file goes, and changes neither", async () => {
  const root = makeTempDir("procman-startup-root-");
  const stateDir = stateDirOf();
  const dir = path.join(root, asRoot ? "Library/LaunchDaemons" : "Library/LaunchAgents");
  mkdirSync(dir, { recursive: true });
  const plist = path.join(dir, "org.procman.startup.plist");
  writeFileSync(plist, "<plist>mine</plist>\n");
  const foreign = await procman(["startup", "-P", "launchd", "--state-dir", stateDir, "--install", "--root", root]);
  assert.is(foreign.code, 2, show(foreign));
  assert.match(foreign.stderr, `${plist} exists and was not written by procman startup`);
  assert.is(readFileSync(plist, "utf8"), "<plist>mine</plist>\n");

  const elsewhere = path.join(root, "elsewhere.plist");
  writeFileSync(elsewhere, "<!-- Generated by procman startup -->\n");
  const linked = path.join(dir, "org.other.startup.plist");
  symlinkSync(elsewhere, linked);
  const link = await procman(["startup", "-P", "launchd", "--prefix", "other", "--state-dir", stateDir, "--install", "--root", root]);
  assert.is(link.code, 2, show(link));
  assert.match(link.stderr, `${linked} exists and is not a regular file`);
  assert.ok(lstatSync(linked).isSymbolicLink());
  assert.is(readFileSync(elsewhere, "utf8"), "<!-- Generated by procman startup -->\n");
});

test("a state dir another user could change is refused (exit 2, naming it) before anything is installed", async () => {
  if (!asRoot) {
    console.log("  SKIP startup untrusted state dir: needs root (to give the dir to another user)");
    return;
  }
  const root = makeTempDir("procman-startup-root-");
  const stateDir = stateDirOf();
  mkdirSync(stateDir);
  chownSync(stateDir, 65534, 65534);
  const run = await procman(["startup", "-P", "sysvinit", "--state-dir", stateDir, "--install", "--root", root]);
  assert.is(run.code, 2, show(run));
  assert.match(run.stderr, `${stateDir}: it belongs to uid 65534`);
  assert.not.ok(existsSync(path.join(root, "etc")), "nothing installed");
});

/** procman as the unprivileged user nobody (from root): what a user's own startup does. */
function asNobody(args: readonly string[], home: string) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    uid: 65534,
    gid: 65534,
    cwd: home,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, NO_COLOR: "1" },
    encoding: "utf8",
    timeout: 20_000,
  });
  return { code: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

test("as a user: --install writes a user unit (default.target) under the home directory (--root here); an init script is refused", async () => {
  if (!asRoot) {
    console.log("  SKIP startup as a user: needs root to become nobody (the same user paths run for any non-root user)");
    return;
  }
  const home = makeTempDir("procman-startup-home-");
  chownSync(home, 65534, 65534);
  const stateDir = path.join(home, "state");
  const unit = asNobody(["startup", "-P", "systemd", "--state-dir", stateDir, "--install", "--root", home], home);
  assert.is(unit.code, 0, show(unit));
  const file = path.join(home, ".config/systemd/user/procman-startup.service");
  assert.match(readFileSync(file, "utf8"), "WantedBy=default.target\n");
  assert.is(statSync(file).uid, 65534);
  assert.match(unit.stderr, "systemctl --user enable procman-startup.service");
  assert.match(unit.stderr, "loginctl enable-linger");
  const agent = asNobody(["startup", "-P", "launchd", "--state-dir", stateDir, "--install", "--root", home], home);
  assert.is(agent.code, 0, show(agent));
  assert.ok(existsSync(path.join(home, "Library/LaunchAgents/org.procman.startup.plist")));
  const sysv = asNobody(["startup", "-P", "sysvinit", "--state-dir", stateDir, "--install", "--root", home], home);
  assert.is(sysv.code, 2, show(sysv));
  assert.match(sysv.stderr, "an init script is installed by root only");
  const printed = asNobody(["startup", "-P", "sysvinit", "--state-dir", stateDir], home);
  assert.is(printed.code, 0, show(printed));
  assert.match(printed.stderr, "to /etc/init.d/procman-startup\n");
});

test("bad input: exit 2 naming it (no -P, an unknown manager, a bad prefix, --root without --install, --out with --install)", async () => {
  const stateDir = stateDirOf();
  const cases: [string[], RegExp][] = [
    [["startup"], /required option '-P, --process-manager <manager>'/],
    [["startup", "-P", "supervisord"], /Allowed choices are systemd, sysvinit, launchd/],
    [["startup", "-P", "systemd", "--prefix", "a/b", "--state-dir", stateDir], /prefix "a\/b"/],
    [["startup", "-P", "systemd", "--root", "/tmp", "--state-dir", stateDir], /--root is for --install only/],
    [["startup", "-P", "systemd", "--install", "--out", "/tmp", "--state-dir", stateDir], /--out and --install exclude each other/],
  ];
  for (const [args, message] of cases) {
    const run = await procman(args);
    assert.is(run.code, 2, `${args.join(" ")}: ${show(run)}`);
    assert.match(run.stderr, message, args.join(" "));
    assert.is(run.stdout, "", args.join(" "));
  }
});

test.run();
