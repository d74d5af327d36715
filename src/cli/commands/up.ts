// procman up: switch, then supervise in the foreground — this process is the supervisor, streaming
// every process's log marked with its name — until Ctrl-C or SIGTERM, which stop everything,
// dependents first (exit 0). A signal during the first switch undoes it (130/143), a failed switch
// exits 1 after its undo: the transaction does both.
import path from "node:path";
import type { Command } from "commander";
import { stopDeployment, switchDeployment } from "../../executor/deployment.js";
import { resolveModelFile } from "../../resolve-model.js";
import { forceDisableUserChangeOption, loadTimeoutOption, lockWaitSeconds, resolveOptions, stateDirOption, type CommonOptions } from "../options.js";
import type { Output } from "../output.js";
import { eventRenderer } from "../render.js";

export function registerUp(program: Command, io: Output): void {
  program
    .command("up")
    .description("switch, then supervise in the foreground, streaming every process's log marked with its name; Ctrl-C stops all, dependents first")
    .argument("<model>", "processes model: .ts, .mts, .js, .mjs, .json, .yaml or .yml")
    .addOption(stateDirOption())
    .addOption(forceDisableUserChangeOption())
    .addOption(loadTimeoutOption())
    .option("--lock-timeout <seconds>", "how long to wait for another procman working on the state dir (then exit 3)", "60")
    .action(async (file: string, options: CommonOptions & { lockTimeout: string }) => {
      const lockWait = lockWaitSeconds(options.lockTimeout);
      const model = await resolveModelFile(file, resolveOptions(options));
      const stateDir = model.context.stateDir;
      const onEvent = eventRenderer(io, { json: false });
      // Listening from the start: a signal between the switch and the supervision must not kill
      // procman with everything left running. During the switch, the transaction undoes on it.
      let signalled: NodeJS.Signals | undefined;
      let wake = () => undefined as void;
      const onSignal = (name: NodeJS.Signals) => {
        signalled ??= name;
        wake();
      };
      for (const name of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(name, onSignal);
      // This process supervises. Started when the switch first spawns (so that it is the parent of
      // what the switch starts and knows each exit status); after a switch that spawned nothing
      // (everything already ran), it is started here and adopts what runs.
      const { runForeground } = await import("../../supervisor/foreground.js");
      const streamOptions = { colour: io.colour };
      let supervisor: Awaited<ReturnType<typeof runForeground>> | undefined;
      const startForeground = async () => {
        supervisor ??= await runForeground(stateDir, (line) => io.out(`${line}\n`), { ...streamOptions, startPaused: true });
      };
      await switchDeployment({ model, modelFile: path.resolve(file), lockWait, onEvent, processManager: "direct", foreground: startForeground });
      supervisor ??= await runForeground(stateDir, (line) => io.out(`${line}\n`), streamOptions);
      const running = supervisor;
      const ended = await new Promise<boolean>((resolve) => {
        wake = () => resolve(false);
        if (signalled !== undefined) resolve(false);
        // Another procman ended this supervisor (procman stop from another terminal): nothing to stop here.
        void running.ended.then(() => resolve(true));
      });
      if (ended && signalled === undefined) return;
      io.err(`procman: ${signalled}: stopping everything, dependents first\n`);
      await running.shutdown();
      await stopDeployment(stateDir, lockWait, onEvent);
    });
}
