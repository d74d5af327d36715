// s6-style readiness (`readiness: { notify: N }`) for supervisord, which hands a program no
// descriptor: the program runs behind this sh, which gives it descriptor N on a FIFO (opened for
// reading too, so the program always holds a reader and never gets SIGPIPE), waits for a line
// ending in "\n", then creates the marker file its dependents wait for. The proxy forwards the
// stop signal and exits with the program's status. The program's argv passes through as "$@".
import path from "node:path";
import type { ResolvedProcess } from "../src/model/types.js";
import { shQuote } from "./quote.js";

/**
 * Where the proxy says "ready": beside the PID file when the process runs as the manager's user,
 * else in its runtimeDirectory (the proxy runs as the process's user); undefined when it has none.
 */
export function notifyMarker(spec: ResolvedProcess): string | undefined {
  if (spec.user === undefined) return path.join(path.dirname(spec.pidFile), `${spec.name}.ready`);
  return spec.runtimeDirectory === undefined ? undefined : path.join(spec.runtimeDirectory.path, `${spec.name}.ready`);
}

/** `/bin/sh -c <proxy>` to put in front of the program's argv (one line: supervisord's command=). */
export function notifyProxy(spec: ResolvedProcess, fd: number, marker: string): string[] {
  const own = fd === 8 ? 9 : 8;
  const signal = spec.stop.signal.replace(/^SIG/, "");
  const m = shQuote(marker);
  const notReady = shQuote(`procman: ${spec.name} not ready after ${spec.readiness.timeout} s (no line on descriptor ${fd})`);
  const script = [
    `pid=; trap '[ -z "$pid" ] || kill -${signal} "$pid" 2>/dev/null' ${[...new Set(["TERM", "INT", signal])].join(" ")}`,
    // Not reaped yet, an exited child is a zombie: kill -0 still succeeds on it (Linux /proc).
    `alive() { [ "$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)" != Z ] && kill -0 "$pid" 2>/dev/null; }`,
    `rm -f -- ${m}`,
    // Both ends opened before the start: the FIFO's private directory can go at once.
    `d=$(mktemp -d) || exit 1`,
    `mkfifo -m 0600 "$d/ready" && exec ${own}<>"$d/ready" ${fd}<>"$d/ready"; s=$?; rm -rf "$d"; [ "$s" -eq 0 ] || exit 1`,
    `( exec ${own}<&-; exec "$0" "$@" ) & pid=$!`,
    `exec ${fd}<&-`,
    `deadline=$(( $(date +%s) + ${Math.ceil(spec.readiness.timeout)} ))`,
    // A read that finds no data returns at once (nonblock): the loop also sees the program exit.
    `until [ "$(dd if=/dev/fd/${own} iflag=nonblock bs=65536 count=1 2>/dev/null | tr -dc '\\n' | wc -c)" -gt 0 ]; do ` +
      `alive || { wait "$pid"; exit $?; }; ` +
      `if [ "$(date +%s)" -gt "$deadline" ]; then echo ${notReady} >&2; kill -${signal} "$pid" 2>/dev/null; wait "$pid"; exit 1; fi; ` +
      "sleep 0.1; done",
    `exec ${own}<&-`,
    `: > ${m}`,
    // wait returns early for a trapped signal: wait again until the program is gone.
    `while :; do wait "$pid"; s=$?; kill -0 "$pid" 2>/dev/null || exit "$s"; done`,
  ].join("; ");
  return ["/bin/sh", "-c", script];
}
