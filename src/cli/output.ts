// Where the CLI writes. Commands print through these so tests can capture them.
export interface Output {
  out(text: string): void;
  err(text: string): void;
  readonly colour: boolean;
}

// A reader that went away (`procman switch … | head -1`) stops the output, never the work: the
// command completes or undoes, and the exit code says which.
let stdoutClosed = false;
let stderrClosed = false;
const gone = (error: NodeJS.ErrnoException) => error.code === "EPIPE" || error.code === "ERR_STREAM_DESTROYED";
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (!gone(error)) throw error;
  stdoutClosed = true;
});
process.stderr.on("error", (error: NodeJS.ErrnoException) => {
  if (!gone(error)) throw error;
  stderrClosed = true;
});

export const processOutput: Output = {
  out: (text) => {
    if (!stdoutClosed) process.stdout.write(text);
  },
  err: (text) => {
    if (!stderrClosed) process.stderr.write(text);
  },
  colour: process.stdout.isTTY === true && process.env.NO_COLOR === undefined,
};
