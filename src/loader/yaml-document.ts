// A YAML (or JSON) model's text as data, with the line and column of its first error. Its own
// module: the YAML parser is loaded only for a file JSON.parse does not take (data-model.ts).
import { LineCounter, parseDocument } from "yaml";
import { LoadError } from "../errors.js";

export function parseYaml(text: string, file: string): unknown {
  const lineCounter = new LineCounter();
  // One parser for both gives line numbers and rejects duplicate keys.
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problem = document.errors[0];
  if (problem !== undefined) {
    const position = lineCounter.linePos(problem.pos[0]);
    const message = problem.message.split("\n")[0]!;
    // The parser recurses per level of nesting.
    const why = /Maximum call stack size exceeded/.test(message) ? `nested too deeply to parse (${message})` : message;
    throw new LoadError(file, `syntax error: ${why}`, { line: position.line, column: position.col });
  }
  try {
    return document.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    // e.g. "Excessive alias count": bad input, not a bug in procman.
    throw new LoadError(file, error instanceof Error ? error.message : String(error), { cause: error });
  }
}
