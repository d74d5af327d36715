// The supervisor's own entry point: `node main.js <stateDir>` (bundled: supervisor.cjs), started
// detached by startSupervisor (its own session, stdio to log/procman-supervisor.log, never pipes).
// It loads little: no commander, no loader, no YAML; only the executor's parts it runs processes with.
import { rmSync } from "node:fs";
import path from "node:path";
import { supervisorPaths } from "./paths.js";
import { claimPidFile, readSupervisorPid, releasePidFile } from "./pid-file.js";
import { serve } from "./server.js";
import { formatEvent } from "./format-event.js";
import { Supervisor } from "./supervisor.js";
import { closeInheritedDescriptors } from "../executor/inherited-fds.js";
import { makeDirectories } from "../executor/atomic.js";

// Its starter closed what it inherited; a supervisor started some other way must not pass on its own.
closeInheritedDescriptors();

const stateDir = process.argv[2] ?? "";
if (!path.isAbsolute(stateDir)) {
  process.stderr.write("usage: main.js <absolute state dir>\n");
  process.exit(2);
}
const paths = supervisorPaths(stateDir);
// stateDir/lib also holds the services' own stateDirectory (traversable); lib/procman is procman's alone.
makeDirectories(path.dirname(paths.lib), 0o755);
makeDirectories(paths.lib, 0o700);
const claim = claimPidFile(paths.pidFile);
if (!claim.ok) {
  log(`a supervisor already runs for ${stateDir} (PID ${claim.holder.pid}); this one ends`);
  process.exit(1);
}

// Only the PID file's holder gets here: a socket file left over is a dead supervisor's.
rmSync(paths.socket, { force: true });

const cleanup = () => {
  rmSync(paths.socket, { force: true });
  releasePidFile(paths.pidFile);
};
// No top-level await: the bundle of this entry is CommonJS (see scripts/bundle.mjs).
void start().catch((error: unknown) => {
  log(`cannot start: ${(error as Error).message}`);
  cleanup();
  process.exit(1);
});
process.on("SIGHUP", () => undefined);
process.on("uncaughtException", (error) => log(`internal error: ${error.stack ?? error.message}`));
process.on("unhandledRejection", (error) => log(`internal error: ${(error as Error)?.stack ?? String(error)}`));

async function start(): Promise<void> {
  const supervisor = new Supervisor({
    stateDir,
    startPaused: true,
    onEvent: (event) => log(formatEvent(event)),
    // Its PID file no longer naming it (lib/procman removed by hand, maybe a new supervisor since):
    // its records are gone, and beside a new one it would restart the same processes. It ends as
    // on SIGTERM, but leaves the files alone: the socket and the PID file may be the new one's.
    stillOwned: () => readSupervisorPid(paths.pidFile)?.pid === process.pid,
    onDisowned: () => {
      log(`${paths.pidFile} no longer names this supervisor (lib/procman removed?): it ends; the processes keep running`);
      process.exit(0);
    },
  });
  await serve(supervisor, {
    dir: paths.lib,
    onShutdown: cleanup,
    afterShutdown: () => process.exit(0),
  });
  log(`supervising ${stateDir} (PID ${process.pid})`);
  // Ended by a signal (an operator's kill): supervision stops, the processes keep running.
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      void supervisor.shutdown().finally(() => {
        cleanup();
        log(`ended by ${signal}; the processes keep running`);
        process.exit(0);
      });
    });
  }
}

function log(line: string): void {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
}
