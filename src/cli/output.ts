// Where the CLI writes. Commands print through these so tests can capture them.
export interface Output {
  out(text: string): void;
  err(text: string): void;
  readonly colour: boolean;
}

export const processOutput: Output = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  colour: process.stdout.isTTY === true && process.env.NO_COLOR === undefined,
};
