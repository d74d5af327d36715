#!/usr/bin/env node
import { runMain } from "./main.js";

// exitCode first: output still buffered for a pipe is flushed before Node exits. A closed stdout
// only silences the output (cli/output.ts): the work completes or undoes.
process.exitCode = await runMain(process.argv.slice(2));
// The command is over. A model may have left timers or sockets behind (user code ran in this
// process): they must not keep procman alive. Exit once what was written has been flushed.
const flushed = (stream: NodeJS.WriteStream) =>
  new Promise<void>((resolve) => (stream.writableLength === 0 || stream.destroyed ? resolve() : stream.write("", () => resolve())));
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit();
