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

// A switch of 500 processes prints about 2,000 lines; a write(2) each cost it ~100 ms. Lines are
// queued and written once per turn of the event loop, in order (stdout and stderr interleaved as
// they were printed), and at exit whatever is left (writes to files, pipes and terminals are
// synchronous on Linux).
const queue: { stream: "out" | "err"; text: string }[] = [];
let scheduled = false;

function enqueue(stream: "out" | "err", text: string): void {
  const last = queue[queue.length - 1];
  if (last !== undefined && last.stream === stream) last.text += text;
  else queue.push({ stream, text });
  if (!scheduled) {
    scheduled = true;
    setImmediate(flushOutput);
  }
}

/** Writes what is queued now (bin.ts calls it before waiting for the streams to drain). */
export function flushOutput(): void {
  scheduled = false;
  for (const { stream, text } of queue.splice(0)) {
    if (stream === "out" ? stdoutClosed : stderrClosed) continue;
    (stream === "out" ? process.stdout : process.stderr).write(text);
  }
}
process.on("exit", flushOutput);

export const processOutput: Output = {
  out: (text) => enqueue("out", text),
  err: (text) => enqueue("err", text),
  colour: process.stdout.isTTY === true && process.env.NO_COLOR === undefined,
};
