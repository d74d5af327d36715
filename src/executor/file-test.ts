// `readiness: { command: "test -e FILE" }` is the commonest check and, polled every interval for
// every waiting process, the costliest one: a shell per poll (a fork and three execs), hundreds a
// second in a wide layer. A command that is nothing but one `test` (or `[ … ]`) of a file type with
// a literal path is answered here with the system call sh's builtin makes: the same answer, as
// long as procman would run the shell as itself anyway (the caller checks: no user switch). Any
// expansion, operator or other command goes to the shell as before.
import { lstatSync, statSync, type Stats } from "node:fs";
import path from "node:path";

/** Answers the test for a process in `directory`; `file` is what it looks at (to watch). */
export type FileTest = ((directory: string) => boolean) & { readonly file: string };

const TESTS: Readonly<Record<string, { readonly link: boolean; readonly holds: (stat: Stats) => boolean }>> = {
  "-e": { link: false, holds: () => true },
  "-f": { link: false, holds: (stat) => stat.isFile() },
  "-d": { link: false, holds: (stat) => stat.isDirectory() },
  "-s": { link: false, holds: (stat) => stat.size > 0 },
  "-p": { link: false, holds: (stat) => stat.isFIFO() },
  "-S": { link: false, holds: (stat) => stat.isSocket() },
  "-b": { link: false, holds: (stat) => stat.isBlockDevice() },
  "-c": { link: false, holds: (stat) => stat.isCharacterDevice() },
  "-h": { link: true, holds: (stat) => stat.isSymbolicLink() },
  "-L": { link: true, holds: (stat) => stat.isSymbolicLink() },
};

const NO_THROW = { throwIfNoEntry: false } as const;

const parsed = new Map<string, FileTest | null>();

/** The command as a file test, or undefined when it must go to the shell. */
export function fileTestOf(command: string): FileTest | undefined {
  let known = parsed.get(command);
  if (known === undefined) {
    known = parse(command) ?? null;
    if (parsed.size < 1000) parsed.set(command, known);
  }
  return known ?? undefined;
}

function parse(command: string): FileTest | undefined {
  // Only the blanks sh splits on: anything else around the words (NBSP, a BOM) is sh's to reject.
  const words = command.replace(/^[ \t\n]+|[ \t\n]+$/g, "").split(/[ \t]+/).map(literal);
  if (words.some((word) => word === undefined)) return undefined;
  let operands = words as string[];
  if (operands[0] === "[" && operands.at(-1) === "]") operands = operands.slice(1, -1);
  else if (operands[0] === "test") operands = operands.slice(1);
  else return undefined;
  if (operands.length !== 2) return undefined;
  const [operator, file] = operands as [string, string];
  const test = TESTS[operator];
  if (test === undefined || !answerable(file)) return undefined;
  const answer = (directory: string): boolean => {
    // A missing file is the usual answer while a wait polls: one stat, no exception built for it.
    // The shell runs the test after `cd -P` into the process's directory: no directory, no pass
    // (looked at second: the same answer, and a poll that finds no file costs one system call).
    try {
      const stat = (test.link ? lstatSync : statSync)(file, NO_THROW);
      if (stat === undefined || !test.holds(stat)) return false;
      return statSync(directory, NO_THROW)?.isDirectory() === true;
    } catch {
      return false; // EACCES, ENOTDIR, ELOOP: sh's test says false too
    }
  };
  return Object.assign(answer, { file });
}

/**
 * A path whose meaning here is the shell's: absolute and already normal (no `.`, `..`, `//` or
 * trailing slash, which the kernel resolves through links where a lexical resolve would not), and
 * not one that names the process asking (/proc/self, /dev/fd, /dev/stdin: procman here, the
 * shell there). A relative path or any other goes to the shell.
 */
function answerable(file: string): boolean {
  if (!file.startsWith("/") || file.length < 2 || file.endsWith("/") || path.posix.normalize(file) !== file) return false;
  return !/^\/(proc\/(self|thread-self)|dev\/(fd|stdin|stdout|stderr))(\/|$)/.test(file);
}

/** One word without anything sh would expand or treat as syntax; undefined if it has any. */
function literal(word: string): string | undefined {
  if (/^'[^']*'$/.test(word)) return word.slice(1, -1);
  if (/^"[^"$`\\]*"$/.test(word)) return word.slice(1, -1);
  // No quotes, globs, tilde, variables, redirections, separators, comments, assignments.
  if (/^[A-Za-z0-9_./+,:@%[\]-]+$/.test(word) && !/[[\]]/.test(word.slice(1)) && !(word.startsWith("[") && word.length > 1)) return word;
  return undefined;
}
