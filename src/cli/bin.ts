#!/usr/bin/env node
import { runMain } from "./main.js";

// A reader that went away (`procman validate … | head`) is not an error: stop quietly.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});

// exitCode first: output still buffered for a pipe is flushed before Node exits.
process.exitCode = await runMain(process.argv.slice(2));
// The command is over. A model may have left timers or sockets behind (user code ran in this
// process): they must not keep procman alive. Exit once what was written has been flushed.
const flushed = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => (stream.writableLength === 0 ? resolve() : stream.write("", () => resolve())));
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit();
