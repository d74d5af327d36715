#!/usr/bin/env node
import { runMain } from "./main.js";

// exitCode, not process.exit(): output still buffered for a pipe is flushed before Node exits.
process.exitCode = await runMain(process.argv.slice(2));
