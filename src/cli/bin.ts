#!/usr/bin/env node
// `procman --version` alone loads nothing else: the commands' modules cost more than Node's start.
// No top-level await: the bundle runs this file as CommonJS (scripts/bundle.mjs).
import { closeInheritedDescriptors } from "../executor/inherited-fds.js";

const args = process.argv.slice(2);

async function main(): Promise<void> {
  if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
    const { packageVersion } = await import("./version.js");
    process.stdout.write(`${packageVersion()}\n`);
    process.exit(0);
  }
  // Before anything can be spawned: what procman inherited is not for its services.
  closeInheritedDescriptors();
  const { runMain } = await loadMain();

  // exitCode first: output still buffered for a pipe is flushed before Node exits. A closed stdout
  // only silences the output (cli/output.ts): the work completes or undoes.
  process.exitCode = await runMain(args);
  // The command is over. A model may have left timers or sockets behind (user code ran in this
  // process): they must not keep procman alive. Exit once what was written has been flushed.
  const flushed = (stream: NodeJS.WriteStream) =>
    new Promise<void>((resolve) => (stream.writableLength === 0 || stream.destroyed ? resolve() : stream.write("", () => resolve())));
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit();
}

/** Defined (true) by scripts/bundle.mjs. */
declare const PROCMAN_BUNDLED: boolean | undefined;

/** The commands: from the bundle its cli.js with the code cache beside it (code-cache.ts). */
async function loadMain(): Promise<typeof import("./main.js")> {
  if (typeof PROCMAN_BUNDLED === "undefined" || !PROCMAN_BUNDLED) return import("./main.js");
  const [{ compileCommonJs }, path, { fileURLToPath }] = await Promise.all([import("./code-cache.js"), import("node:path"), import("node:url")]);
  const dir = path.dirname(fileURLToPath(import.meta.url));
  return compileCommonJs(path.join(dir, "cli.js"), path.join(dir, "cli.js.cache")).exports as typeof import("./main.js");
}

void main();
