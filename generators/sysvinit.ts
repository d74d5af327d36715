// sysvinit: one self-contained LSB init script per process (POSIX sh, no distribution
// init-functions), every argument single-quoted, plus start-order links from the graph. The PID
// file sits beside the process's start time so a stale PID naming another process is never
// signalled (on Linux, from /proc). Pure.
import { activationLayers } from "../src/graph/graph.js";
import type { ResolvedModel, ResolvedProcess } from "../src/model/types.js";
import { setOwn } from "../src/own-property.js";
import { DROP_UNDECLARED, exportLines } from "./exact-env.js";
import { directoryCalls, directoryFunctions, neededDirectories, type NeededDirectory } from "./directories.js";
import { prefixOf, sysvinitScriptName } from "./naming.js";
import { shQuote } from "./quote.js";
import { removeStaleReadyFile, waitForReady } from "./readiness-script.js";
import { GeneratorError, type GeneratedFile, type GeneratorOptions, type GeneratorOutput } from "./types.js";

export function generateSysvinit(model: ResolvedModel, options: GeneratorOptions = {}): GeneratorOutput {
  const prefix = prefixOf("sysvinit", options);
  const script = (name: string) => sysvinitScriptName(prefix, name);
  const warnings: string[] = [];
  const files: GeneratedFile[] = [];
  const issues = model.processes
    .filter((spec) => (spec.foreground ?? spec.daemon)!.executable.includes("="))
    .map((spec) => `${spec.name}: an executable path with "=" would be read by env as an assignment`);
  issues.push(...neededDirectories(model).issues);
  for (const spec of model.processes) {
    // POSIX sh redirects single-digit descriptors only.
    if (spec.readiness.kind === "notify" && spec.readiness.fd > 9) {
      issues.push(`${spec.name}: readiness notify on descriptor ${spec.readiness.fd}: an init script (POSIX sh) can hand over descriptors 3 to 9 only`);
    }
  }
  if (issues.length > 0) throw new GeneratorError("sysvinit", issues);
  const layers = activationLayers(model.processes);
  if (layers.length > 98) warnings.push(`the graph has ${layers.length} layers; start-order numbers stop at 99`);
  const processFiles: Record<string, string[]> = {};
  const names: Record<string, string> = {};
  for (const spec of model.processes) {
    // Each script creates the directories of its own process before it starts it.
    const dirs = neededDirectories({ ...model, processes: [spec] }).dirs;
    // The environment's values live in default/P-name beside init.d/ (/etc/default/P-name once
    // installed), mode 0600, which the script sources as the last step before the program: none is
    // in the script or on a command line.
    const envFile = `default/${script(spec.name)}`;
    files.push({ path: `init.d/${script(spec.name)}`, contents: renderScript(spec, script, dirs), mode: 0o755 });
    files.push({ path: envFile, contents: environmentFile(spec), mode: 0o600 });
    setOwn(processFiles, spec.name, [`init.d/${script(spec.name)}`, envFile]);
    setOwn(names, spec.name, script(spec.name));
    if (spec.restart.policy !== "no") warnings.push(`${spec.name}: an init script cannot restart a process that exits; restart ${spec.restart.policy} not carried`);
    if (spec.liveness !== undefined) warnings.push(`${spec.name}: an init script cannot run the ${spec.liveness.kind} liveness check; not carried`);
    if (spec.onFailure !== undefined) warnings.push(`${spec.name}: onFailure is not carried to sysvinit (nothing watches the process)`);
  }
  layers.forEach((layer, index) => {
    const start = String(Math.min(99, index + 1)).padStart(2, "0");
    const kill = String(Math.max(1, 99 - Math.min(98, index + 1))).padStart(2, "0");
    for (const name of layer) {
      for (const link of [`rc.d/S${start}${script(name)}`, `rc.d/K${kill}${script(name)}`]) {
        files.push({ path: link, contents: "", mode: 0o777, symlink: `../init.d/${script(name)}` });
        processFiles[name]!.push(link);
      }
    }
  });
  const order = layers.flat().map(script);
  const steps = [
    `Install the scripts: cp ${order.map((name) => `init.d/${name}`).join(" ")} /etc/init.d/ (the rc.d/ links show the start and stop order).`,
    `Install their environment files, readable by root only: install -m 0600 ${order.map((name) => `default/${name}`).join(" ")} /etc/default/ (a script reads ../default/<its name> beside its directory).`,
    `Register them for boot: ${order.map((name) => `update-rc.d ${name} defaults`).join("; ")} (the LSB headers carry the dependencies).`,
    `Start them, dependencies first (each start creates its directories and returns once the process is ready): ${order.map((name) => `/etc/init.d/${name} start`).join(" && ")}`,
    `Stop them, dependents first: ${[...order].reverse().map((name) => `/etc/init.d/${name} stop`).join(" && ")}`,
  ];
  return { files, warnings, processFiles, sharedFiles: [], names, steps };
}

/**
 * The LSB comment block; overrides.sysvinit sets or adds keywords ("Default-Start": "3 5",
 * "Should-Start": "network", "X-Start-Before": …). One line each: line breaks become spaces.
 */
function lsbHeader(spec: ResolvedProcess, provides: string, deps: string, description: string, lines: string[]): void {
  const header: Record<string, string> = {
    Provides: provides,
    "Required-Start": deps,
    "Required-Stop": deps,
    "Default-Start": "2 3 4 5",
    "Default-Stop": "0 1 6",
    "Short-Description": description,
    Description: description,
  };
  for (const [key, value] of Object.entries(spec.overrides.sysvinit ?? {})) {
    header[headerText(key)] = headerText(Array.isArray(value) ? value.join(" ") : String(value));
  }
  for (const [key, value] of Object.entries(header)) lines.push(`${headerKey(key)}${value}`.trimEnd());
}

/** `# Key:` padded to the value column; the default keywords' once. */
function headerKey(key: string): string {
  return HEADER_KEYS.get(key) ?? `# ${`${key}:`.padEnd(19)}`;
}
const HEADER_KEYS = new Map(
  ["Provides", "Required-Start", "Required-Stop", "Default-Start", "Default-Stop", "Short-Description", "Description"]
    .map((key) => [key, `# ${`${key}:`.padEnd(19)}`]),
);

/**
 * s6-style readiness: the process gets descriptor `fd` on a FIFO, opened for reading AND writing so
 * that it always holds a reader itself (a write never raises SIGPIPE, whoever stops reading), and
 * start waits for a line ending in "\n" on it. The FIFO lives in a private temporary directory,
 * removed at once (the open descriptors keep it); the script's own descriptor is closed in the
 * child and after the wait.
 */
function notifySteps(fd: number, timeout: number): { open: string[]; closeInChild: string; wait: string[] } {
  const own = fd === 8 ? 9 : 8;
  const fail = (message: string) => `{ echo "$NAME: ${message}" >&2; exec ${own}<&-; do_stop; return 1; }`;
  return {
    // Both ends opened here, before the launch: the FIFO's directory can go at once.
    open: [
      "  notify_dir=$(mktemp -d) || return 1",
      `  mkfifo -m 0600 "$notify_dir/ready" && exec ${own}<>"$notify_dir/ready" ${fd}<>"$notify_dir/ready"`,
      `  status=$?; rm -rf "$notify_dir"; [ "$status" -eq 0 ] || return 1`,
    ],
    // The child inherits descriptor fd (not this shell's own); the shell lets go of it after the launch.
    closeInChild: `exec ${own}<&-; `,
    wait: [
      `  exec ${fd}<&-`,
      `  # Ready once a line ends on descriptor ${fd}: a read that finds no data returns at once (nonblock).`,
      `  n=$(( ${Math.ceil(timeout)} * 10 ))`,
      `  until [ "$(dd if=/dev/fd/${own} iflag=nonblock bs=65536 count=1 2>/dev/null | tr -dc '\\n' | wc -c)" -gt 0 ]; do`,
      `    running || ${fail("exited before it was ready; see $LOGFILE")}`,
      `    n=$((n - 1)); [ "$n" -gt 0 ] || ${fail(`not ready after ${timeout} s (no line on descriptor ${fd})`)}`,
      "    sleep 0.1",
      "  done",
      `  exec ${own}<&-`,
    ],
  };
}

function headerText(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, " ");
}

// The constant parts of every init script, each joined once (10,000 scripts share them).
/** From the script's own path to the head of launch(): the same in every script. */
const HELPERS = [
  '# This script by an absolute path: start runs it again (as "launch") from a new session.',
  'case "$0" in /*) SCRIPT=$0 ;; *) SCRIPT=${PWD%/}/$0 ;; esac',
  "",
  "# The start time of a PID (Linux /proc field 22), empty where there is no /proc.",
  "start_time() {",
  `  [ -r "/proc/$1/stat" ] && sed 's/^.*) //' "/proc/$1/stat" | cut -d' ' -f20`,
  "}",
  "",
  "# 0 when the PID file names the live process this script started (a zombie is dead). With /proc,",
  "# the start time recorded beside the PID must match: a PID file alone may name a reused PID.",
  "running() {",
  '  [ -s "$PIDFILE" ] || return 1',
  '  { read -r pid || [ -n "$pid" ]; } < "$PIDFILE" || return 1',
  '  case "$pid" in ""|*[!0-9]*) return 1 ;; esac',
  '  kill -0 "$pid" 2>/dev/null || return 1',
  '  if [ -r "/proc/$pid/stat" ]; then',
  `    [ "$(sed 's/^.*) //' "/proc/$pid/stat" | cut -d' ' -f1)" != Z ] || return 1`,
  '    [ -s "$PIDFILE.start" ] && [ "$(cat "$PIDFILE.start")" = "$(start_time "$pid")" ] || return 1',
  "  fi",
  "}",
  "",
  "# The start time first: a PID file is never without it.",
  "record_pid() {",
  '  start_time "$1" > "$PIDFILE.start.tmp" && mv -f "$PIDFILE.start.tmp" "$PIDFILE.start"',
  '  echo "$1" > "$PIDFILE.tmp" && mv -f "$PIDFILE.tmp" "$PIDFILE"',
  "}",
  "",
  "# The program with its exact environment and the helpers for umask, nice and identity.",
  "launch() {",
].join("\n");

/** The end of launch() and the head of as_process(). */
const AS_PROCESS_HEAD = [
  "}",
  "",
  "# Runs \"$@\" as the process runs: its identity, nice, directory, umask and exact environment.",
  "as_process() {",
].join("\n");

/** The end of as_process(), the directory functions and the head of make_directories(). */
const DIRECTORIES_HEAD = [
  "}",
  "",
  ...directoryFunctions(),
  "",
  "# The directories it needs: log and PID file directories, its stateDirectory/runtimeDirectory.",
  "make_directories() {",
].join("\n");

/** The end of make_directories() and the head of do_start(). */
const START_HEAD = [
  "  return 0",
  "}",
  "",
  "do_start() {",
  '  if running; then echo "$NAME is running"; return 0; fi',
  "  make_directories || return 1",
  '  rm -f "$PIDFILE" "$PIDFILE.start"',
].join("\n");

/** The end of do_start(), launch_setsid(), do_stop() and the actions: the same in every script. */
const STOP_AND_ACTIONS = [
  "  return 0",
  "}",
  "",
  "launch_setsid() {",
  '  exec setsid /bin/sh "$SCRIPT" launch',
  "}",
  "",
  "do_stop() {",
  '  if ! running; then rm -f "$PIDFILE" "$PIDFILE.start"; return 0; fi',
  '  read -r pid < "$PIDFILE"',
  '  target="$pid"',
  `  [ "$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f3)" = "$pid" ] && target="-$pid"`,
  '  kill -s "$STOP_SIGNAL" -- "$target" 2>/dev/null',
  "  n=$((STOP_TIMEOUT * 10))",
  "  while running; do",
  '    n=$((n - 1))',
  '    if [ "$n" -le 0 ]; then kill -s KILL -- "$target" 2>/dev/null; n=50; while running && [ "$n" -gt 0 ]; do n=$((n - 1)); sleep 0.1; done; break; fi',
  "    sleep 0.1",
  "  done",
  '  if running; then echo "$NAME: PID $pid survived SIGKILL" >&2; return 1; fi',
  '  rm -f "$PIDFILE" "$PIDFILE.start"',
  "}",
  "",
  'case "$1" in',
  "  start) do_start ;;",
  "  stop) do_stop ;;",
  "  restart|force-reload) do_stop && do_start ;;",
  "  try-restart) if running; then do_stop && do_start; fi ;;",
  '  reload) if running; then read -r pid < "$PIDFILE"; kill -s "$RELOAD_SIGNAL" "$pid"; else exit 7; fi ;;',
  "  status)",
  '    if running; then echo "$NAME is running"; exit 0; fi',
  '    if [ -e "$PIDFILE" ]; then echo "$NAME is dead, but $PIDFILE exists"; exit 1; fi',
  '    echo "$NAME is not running"; exit 3 ;;',
  "  launch) launch ;;",
  '  *) echo "Usage: $0 {start|stop|restart|force-reload|reload|try-restart|status}" >&2; exit 2 ;;',
  "esac",
  "",
].join("\n");

/** The process's environment as sh the script sources: readable by the script's owner only. */
function environmentFile(spec: ResolvedProcess): string {
  return [
    "# Generated by procman; changes are overwritten by the next procman generate/switch.",
    `# The environment of ${headerText(spec.name)}, sourced by its init script. Keep it mode 0600.`,
    ...exportLines(spec.environment),
    "",
  ].join("\n");
}

function renderScript(spec: ResolvedProcess, script: (name: string) => string, dirs: readonly NeededDirectory[]): string {
  const q = shQuote;
  const command = spec.foreground ?? spec.daemon!;
  const foreground = spec.foreground !== undefined;
  const keep = ` ${Object.keys(spec.environment).join(" ")} `.replace(/^ {2}$/, " ");
  // Without a group, the user's primary group (as systemd and supervisord do), never root's.
  const identity = [
    ...(spec.user !== undefined ? [`--reuid ${q(spec.user)}`] : []),
    ...(spec.group !== undefined ? [`--regid ${q(spec.group)}`] : spec.user !== undefined ? [`--regid "$(id -g ${q(spec.user)})"`] : []),
    spec.user !== undefined ? "--init-groups" : "--clear-groups",
  ].join(" ");
  const root = (spec.user !== undefined || spec.group !== undefined)
    ? `if [ "$(id -u)" -eq 0 ]; then set -- setpriv ${identity} -- "$@"; fi`
    : "";
  const nice = spec.nice !== undefined ? `set -- nice -n ${spec.nice} "$@"` : "";
  const umask = spec.umask !== undefined ? `umask ${spec.umask}` : "";
  const description = headerText(spec.description ?? spec.name);
  const deps = spec.activatesAfter.map(script).join(" ");
  const notify = spec.readiness.kind === "notify" ? notifySteps(spec.readiness.fd, spec.readiness.timeout) : undefined;
  const removeReadyFile = removeStaleReadyFile(spec.readiness);
  const readiness = waitForReady(spec, { exactly: "procman_exactly" });
  // Pushed in order (no spread of a temporary list per optional line: 10,000 scripts).
  const lines = ["#!/bin/sh", "### BEGIN INIT INFO"];
  lsbHeader(spec, script(spec.name), deps, description, lines);
  lines.push(
    "### END INIT INFO",
    "# Generated by procman; changes are overwritten by the next procman generate/switch.",
    "",
    `NAME=${q(spec.name)}`,
    `PIDFILE=${q(spec.pidFile)}`,
    `LOGFILE=${q(spec.logFile)}`,
    `STOP_SIGNAL=${q(spec.stop.signal.replace(/^SIG/, ""))}`,
    `STOP_TIMEOUT=${Math.ceil(spec.stop.timeout)}`,
    `RELOAD_SIGNAL=${q(spec.stop.reloadSignal.replace(/^SIG/, ""))}`,
    HELPERS,
    `  as_process ${[command.executable, ...command.args].map(q).join(" ")}`,
    "}",
    "",
    "# Execs \"$@\" with exactly the process's environment: every other variable dropped, the values",
    "# read from ../default/<this script> (mode 0600), so that none is on a command line.",
    "procman_exactly() {",
    `  ENVFILE=\${SCRIPT%/*}/../default/${q(script(spec.name))}`,
    '  [ -f "$ENVFILE" ] && [ -r "$ENVFILE" ] || { echo "$NAME: cannot read its environment file $ENVFILE" >&2; exit 1; }',
    `  __procman_keep=${q(keep)}`,
    `  ${DROP_UNDECLARED}`,
    '  . "$ENVFILE"',
    '  exec /usr/bin/env "$@"',
    AS_PROCESS_HEAD,
  );
  if (root !== "") lines.push(`  ${root}`);
  if (nice !== "") lines.push(`  ${nice}`);
  lines.push(`  cd ${q(spec.directory ?? "/")} || return 1`);
  if (umask !== "") lines.push(`  ${umask}`);
  lines.push('  procman_exactly "$@"', DIRECTORIES_HEAD);
  for (const line of directoryCalls(dirs, "return 1")) lines.push(`  ${line}`);
  lines.push(START_HEAD);
  if (removeReadyFile !== undefined) lines.push(`  ${removeReadyFile}`);
  if (spec.initialize !== undefined) {
    lines.push(`  ( as_process /bin/sh -c ${q(spec.initialize)} ) < /dev/null >> "$LOGFILE" 2>&1 || { echo "$NAME: initialize failed" >&2; return 1; }`);
  }
  if (notify !== undefined) lines.push(...notify.open);
  if (foreground) {
    lines.push(
      "  # setsid: its own session and process group, so stop reaches all of it.",
      `  ( ${notify?.closeInChild ?? ""}launch_setsid ) < /dev/null >> "$LOGFILE" 2>&1 &`,
      "  record_pid $!",
    );
  } else {
    lines.push(
      `  ( ${notify?.closeInChild ?? ""}launch ) < /dev/null >> "$LOGFILE" 2>&1 || { echo "$NAME: the daemon command failed" >&2; return 1; }`,
      `  n=$(( ${Math.ceil(spec.readiness.timeout)} * 10 ))`,
      '  until [ -s "$PIDFILE" ] && { read -r pid || [ -n "$pid" ]; } < "$PIDFILE" && kill -0 "$pid" 2>/dev/null; do',
      '    n=$((n - 1)); [ "$n" -gt 0 ] || { echo "$NAME: no live PID in $PIDFILE" >&2; return 1; }',
      "    sleep 0.1",
      "  done",
      '  record_pid "$pid"',
    );
  }
  if (notify !== undefined) lines.push(...notify.wait);
  else if (readiness !== undefined) {
    lines.push("  # Ready before the next script starts: dependents rely on it.", `  ( ${readiness.split("\n").join("\n    ")}\n  ) || { do_stop; return 1; }`);
  } else lines.push("  sleep 0.1", '  running || { echo "$NAME exited at once; see $LOGFILE" >&2; return 1; }');
  lines.push(STOP_AND_ACTIONS);
  return lines.join("\n");
}
