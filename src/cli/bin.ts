#!/usr/bin/env node
import { runMain } from "./main.js";

// A reader that went away (`procman validate … | head`) is not an error: stop quietly.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});

// exitCode, not process.exit(): output still buffered for a pipe is flushed before Node exits.
process.exitCode = await runMain(process.argv.slice(2));
