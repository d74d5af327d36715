// Where the supervisor keeps what it must not hold only in memory: all under stateDir/lib/procman,
// except its own log, which goes with the processes' logs.
import path from "node:path";

export const SOCKET_NAME = "supervisor.sock";
/** sun_path holds 108 bytes with the terminating NUL. */
export const SUN_PATH_MAX = 107;

export interface SupervisorPaths {
  readonly lib: string;
  /** The control socket; bound and connected relative to `lib` (sun_path holds 107 bytes). */
  readonly socket: string;
  /** `{ pid, startTime }` of the running supervisor. */
  readonly pidFile: string;
  /** Restarts, last exits, health, backoff and failed states per process (readSupervision). */
  readonly status: string;
  readonly log: string;
  /** The state dir lock (another procman holds it while it exists). */
  readonly lock: string;
}

export function supervisorPaths(stateDir: string): SupervisorPaths {
  const lib = path.join(stateDir, "lib", "procman");
  return {
    lib,
    socket: path.join(lib, SOCKET_NAME),
    pidFile: path.join(lib, "supervisor.pid"),
    status: path.join(lib, "supervision.json"),
    log: path.join(stateDir, "log", "procman-supervisor.log"),
    lock: path.join(lib, "lock"),
  };
}
