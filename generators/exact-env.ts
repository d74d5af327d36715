// The exact environment without a value on any command line. A value in an argv is readable by
// every user (/proc/PID/cmdline) for as long as that process runs; a value in the environment only
// by its owner (/proc/PID/environ). So the values reach a process through its environment — from a
// mode 0600 file the manager reads (a plist, a program section, a sourced file) — and the last step
// before the program, a sh given only the declared *names*, drops every other variable (the
// manager's own, the sh's) and execs the program through /usr/bin/env. Pure text.
import { shQuote } from "./quote.js";

/** Variables a POSIX sh sets itself at its start (dash: PWD, IFS, OPTIND, PPID): carried past shells in copies. */
export const SH_SETS = ["IFS", "OPTIND", "PPID", "PWD"];
/** The prefix of those copies (never declared: the last step drops them). */
export const SAVED = "PROCMAN_SAVED_";

/** sh: the name of every variable in the environment, one per line (a line of a multi-line value only adds a name to drop). */
const NAMES =
  "/usr/bin/env | while IFS= read -r __procman_l; do __procman_l=${__procman_l%%=*}; " +
  'case "$__procman_l" in ""|[0-9]*|*[!A-Za-z0-9_]*) ;; *) echo "$__procman_l" ;; esac; done';

/**
 * sh (one line) that collects `-u NAME` into "$@" for every variable in the environment whose name is
 * not in `$__procman_keep` (" A B "). Runs with IFS unset (the default splitting), before any
 * declared IFS is set.
 */
export const DROP_UNDECLARED =
  `unset IFS; for __procman_n in $(${NAMES}); do ` +
  'case "$__procman_keep" in *" $__procman_n "*) ;; *) set -- -u "$__procman_n" "$@" ;; esac; done';

/**
 * The prefix of an encoded copy of a declared variable: its value's bytes as `\0NNN` octal escapes,
 * for a manager whose own syntax cannot carry the value (supervisord's environment=: quotes, line
 * breaks, ` ;`). The last step decodes it (printf %b) into the variable; never declared, so dropped.
 */
export const ENCODED = "PROCMAN_ENCODED_";

/** `value` as the text of its ENCODED copy: only backslashes and octal digits. */
export function encodeValue(value: string): string {
  return [...Buffer.from(value, "utf8")].map((byte) => `\\0${byte.toString(8).padStart(3, "0")}`).join("");
}

/**
 * sh (one line): every declared name (in `$__procman_keep`) that has an ENCODED copy is set,
 * exported, to the decoded value (a trailing `x` keeps the value's trailing newlines from `$(...)`).
 * Runs with IFS unset; names are `[A-Za-z_][A-Za-z0-9_]*` (validated), so eval sees only them.
 */
const DECODE =
  `for __procman_n in $__procman_keep; do eval "__procman_e=\\\${${ENCODED}$__procman_n+x}"; ` +
  `[ -z "$__procman_e" ] || eval "$__procman_n=\\$(printf '%bx' \\"\\$${ENCODED}$__procman_n\\"); $__procman_n=\\\${$__procman_n%x}; export $__procman_n"; done`;

/** The scripts by the names they restore (at most 2^4: a cache, not state). */
const SCRIPTS = new Map<string, string>();

/**
 * `sh -c` script for `<script> sh NAME... -- argv...`: execs argv with exactly the named variables
 * of its environment, each ENCODED copy of a declared variable decoded into it, each copy
 * `PROCMAN_SAVED_X` of a declared X in SH_SETS restored as X (when present).
 */
export function exactScript(names: readonly string[]): string {
  const restored = SH_SETS.filter((name) => names.includes(name));
  const key = restored.join(" ");
  let script = SCRIPTS.get(key);
  if (script === undefined) {
    script =
      `__procman_keep=' '; while [ "$1" != -- ]; do __procman_keep="$__procman_keep$1 "; shift; done; shift; ${DROP_UNDECLARED}; ${DECODE}; ` +
      restored.map((name) => `[ -z "\${${SAVED}${name}+x}" ] || { ${name}=$${SAVED}${name}; export ${name}; }; `).join("") +
      'exec /usr/bin/env "$@"';
    SCRIPTS.set(key, script);
  }
  return script;
}

/** The argv words in front of a program that give it exactly `environment` (taken from the environment they run with). */
export function exactArgv(environment: Readonly<Record<string, string>>): string[] {
  const names = Object.keys(environment);
  return ["/bin/sh", "-c", exactScript(names), "sh", ...names, "--"];
}

/** The same as sh words, for inside a sh script (`exec <this> "$0" "$@"`). */
export function exactWords(environment: Readonly<Record<string, string>>): string {
  return exactArgv(environment).map(shQuote).join(" ");
}

/**
 * What the manager must put in the environment it starts the chain with: the declared variables,
 * and a copy of each declared one a sh on the way would change (restored by the last step).
 */
export function environmentWithCopies(environment: Readonly<Record<string, string>>): Record<string, string> {
  const result: Record<string, string> = { ...environment };
  for (const name of SH_SETS) if (name in environment) result[`${SAVED}${name}`] = environment[name]!;
  return result;
}

/** sh lines that set and export each variable of `environment` (for a 0600 file a sh sources or runs). */
export function exportLines(environment: Readonly<Record<string, string>>): string[] {
  return Object.entries(environment).map(([name, value]) => `${name}=${shQuote(value)}; export ${name}`);
}
