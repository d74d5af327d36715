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

// The lines of one turn of the event loop go out in one write per stream (a stop of 500 prints
// 1,000 lines: 1,000 write(2) calls otherwise), in the order they were printed across both streams.
// Flushed after the turn, when the command ends (flushOutput) and on any exit.
const queue: { stream: "out" | "err"; text: string }[] = [];
let flushScheduled = false;

export function flushOutput(): void {
  flushScheduled = false;
  let at = 0;
  while (at < queue.length) {
    const { stream } = queue[at]!;
    let text = "";
    for (; at < queue.length && queue[at]!.stream === stream; at++) text += queue[at]!.text;
    if (stream === "out" ? !stdoutClosed : !stderrClosed) (stream === "out" ? process.stdout : process.stderr).write(text);
  }
  queue.length = 0;
}
process.on("exit", flushOutput);

const enqueue = (stream: "out" | "err", text: string) => {
  queue.push({ stream, text });
  if (flushScheduled) return;
  flushScheduled = true;
  setImmediate(flushOutput);
};

export const processOutput: Output = {
  out: (text) => enqueue("out", text),
  err: (text) => enqueue("err", text),
  colour: process.stdout.isTTY === true && process.env.NO_COLOR === undefined,
};
