// The command line: parsing, and the one place that turns errors into messages and exit codes.
import { Command, CommanderError } from "commander";
import { ProcmanError, describeSystemError } from "../errors.js";
import { setTrustWarningSink } from "../executor/dir-trust.js";
import { flushOutput, processOutput, type Output } from "./output.js";
import { packageVersion } from "./version.js";

type Register = (program: Command, io: Output) => void;

/**
 * Each command's module, in the order of the help. Loading them all costs more than Node's own
 * start (commands pull in the loader, the generators, the executor), so a command loads only its
 * own; the full help and anything unrecognised (commander's suggestions) load them all.
 */
const COMMAND_MODULES: readonly { readonly commands: readonly string[]; readonly load: () => Promise<Register> }[] = [
  { commands: ["validate"], load: async () => (await import("./commands/validate.js")).registerValidate },
  { commands: ["visualize"], load: async () => (await import("./commands/visualize.js")).registerVisualize },
  { commands: ["switch", "stop", "start", "restart", "reload", "rollback"], load: async () => (await import("./commands/deploy.js")).registerDeploy },
  { commands: ["status", "generations", "logs"], load: async () => (await import("./commands/inspect.js")).registerInspect },
  { commands: ["up"], load: async () => (await import("./commands/up.js")).registerUp },
  { commands: ["generate"], load: async () => (await import("./commands/generate.js")).registerGenerate },
  { commands: ["startup"], load: async () => (await import("./commands/startup.js")).registerStartup },
];

/** The modules argv needs: the named command's alone, else (help, a typo, no command) all of them. */
function modulesFor(argv: readonly string[]): readonly (typeof COMMAND_MODULES)[number][] {
  // procman's own options take no value, so the first other word is the command.
  const name = argv.find((arg) => !arg.startsWith("-"));
  const named = name === undefined ? undefined : COMMAND_MODULES.find((module) => module.commands.includes(name));
  return named === undefined ? COMMAND_MODULES : [named];
}

/** The program with the commands argv needs (all of them without argv). */
export async function buildProgram(io: Output, argv?: readonly string[]): Promise<Command> {
  const registers = await Promise.all((argv === undefined ? COMMAND_MODULES : modulesFor(argv)).map((module) => module.load()));
  const program = new Command("procman")
    .description("Declarative, dependency-based process manager: one processes model, run directly or as systemd, launchd, supervisord or sysvinit configs.")
    .version(packageVersion(), "-V, --version")
    .option("--debug", "print stack traces with errors")
    .showSuggestionAfterError(true)
    .showHelpAfterError("(add --help for usage)")
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .addHelpText(
      "after",
      "\nExit codes: 0 done, 1 operation failed (previous state restored), 2 bad input, 3 state dir locked.\nRun `procman <command> --help` for a command's flags.\n",
    );
  for (const register of registers) register(program, io);
  // Every command exits through runMain, never through commander's process.exit.
  const strict = (command: Command) => {
    command.exitOverride();
    command.commands.forEach(strict);
  };
  strict(program);
  return program;
}

/** Runs procman with argv (without node and script); returns the exit code. */
export async function runMain(argv: readonly string[], io: Output = processOutput): Promise<number> {
  try {
    return await run(argv, io);
  } finally {
    if (io === processOutput) flushOutput();
  }
}

async function run(argv: readonly string[], io: Output): Promise<number> {
  const program = await buildProgram(io, argv);
  setTrustWarningSink((message) => io.err(`procman: warning: ${message}\n`));
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return 2;
    }
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander has printed its message already; help and version are not errors.
      return error.exitCode === 0 ? 0 : 2;
    }
    const debug = argv.includes("--debug");
    if (error instanceof ProcmanError) {
      io.err(`procman: ${error.message}\n`);
      // The message is printed above: only the frames, so the problem list is not printed twice.
      const frames = (error.stack ?? "").split("\n").filter((line) => /^\s+at /.test(line));
      if (debug && frames.length > 0) io.err(`${frames.join("\n")}\n`);
      if (debug && error.cause instanceof Error && error.cause.stack !== undefined) io.err(`caused by: ${error.cause.stack}\n`);
      return error.exitCode;
    }
    const system = systemErrorText(error);
    if (system !== undefined) {
      // A file or directory the system refused (full disk, read-only, permissions): the
      // operation failed, and the operator can fix it. Not procman's bug.
      io.err(`procman: ${system}\n`);
      if (debug && error instanceof Error && error.stack !== undefined) io.err(`${error.stack}\n`);
      return 1;
    }
    // A bug in procman, not in the input: say so, with the stack.
    io.err(`procman: internal error: ${error instanceof Error ? (debug ? error.stack : error.message) : String(error)}\n`);
    if (!debug) io.err("(run again with --debug for the stack trace)\n");
    return 1;
  }
}

/** "cannot open /x/y: permission denied (EACCES)" for Node's errors from the file system. */
function systemErrorText(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, syscall, path } = error as NodeJS.ErrnoException;
  if (typeof code !== "string" || !/^E[A-Z0-9]+$/.test(code) || typeof syscall !== "string") return undefined;
  return `cannot ${syscall}${typeof path === "string" ? ` ${path}` : ""}: ${describeSystemError(error)}`;
}
