// Where the CLI writes. Commands print through these so tests can capture them.
export interface Output {
  out(text: string): void;
  err(text: string): void;
  /** Like out, but may wait for the end of this turn of the event loop (many lines at once). */
  outSoon?(text: string): void;
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

// A stop of 500 prints 1,000 lines in a few turns of the event loop: outSoon queues them, and they
// go out in one write at the end of the turn (1,000 write(2) calls took 7–26 ms, one 0.5–4 ms).
// Every other line is written at once, after what is queued: the order holds, and a line such as
// "starting X" is out before X starts. Also flushed when the command ends and on any exit.
const queue: string[] = [];
let flushScheduled = false;

export function flushOutput(): void {
  flushScheduled = false;
  if (queue.length === 0) return;
  const text = queue.join("");
  queue.length = 0;
  if (!stdoutClosed) process.stdout.write(text);
}
process.on("exit", flushOutput);

export const processOutput: Output = {
  out: (text) => {
    flushOutput();
    if (!stdoutClosed) process.stdout.write(text);
  },
  err: (text) => {
    flushOutput();
    if (!stderrClosed) process.stderr.write(text);
  },
  outSoon: (text) => {
    queue.push(text);
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(flushOutput);
  },
  colour: process.stdout.isTTY === true && process.env.NO_COLOR === undefined,
};
