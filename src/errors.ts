// Errors with a stable `code`, structured fields and the exit code the CLI maps them to.
// The CLI is the only place that prints them and exits.

export class ProcmanError extends Error {
  readonly code: string;
  readonly exitCode: number;
  constructor(code: string, message: string, exitCode: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** One problem of a model, naming the process and the field when there is one. */
export interface ModelIssue {
  readonly process?: string;
  readonly field?: string;
  readonly message: string;
}

export function formatIssue(issue: ModelIssue): string {
  const where = [issue.process, issue.field].filter((part) => part !== undefined && part !== "");
  return where.length > 0 ? `${where.join(": ")}: ${issue.message}` : issue.message;
}

/** The model is invalid; carries every problem found, not only the first. Exit 2. */
export class ModelError extends ProcmanError {
  readonly issues: readonly ModelIssue[];
  readonly file: string | undefined;
  constructor(issues: readonly ModelIssue[], file?: string) {
    const head = `${file ?? "the model"}: ${issues.length} problem${issues.length === 1 ? "" : "s"}`;
    super("EMODEL", [head, ...issues.map((issue) => `  - ${formatIssue(issue)}`)].join("\n"), 2);
    this.issues = issues;
    this.file = file;
  }
}

/** The model file is missing, does not parse, throws, or exports the wrong shape. Exit 2. */
export class LoadError extends ProcmanError {
  readonly file: string;
  readonly line: number | undefined;
  constructor(file: string, message: string, options?: { line?: number; column?: number; cause?: unknown }) {
    const at = options?.line !== undefined ? `:${options.line}${options.column !== undefined ? `:${options.column}` : ""}` : "";
    super("ELOAD", `${file}${at}: ${message}`, 2, options);
    this.file = file;
    this.line = options?.line;
  }
}

/** Bad command-line usage. Exit 2. */
export class UsageError extends ProcmanError {
  constructor(message: string) {
    super("EUSAGE", message, 2);
  }
}

/** What an errno means to an operator; the code in parentheses for searching. */
export function describeSystemError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const meaning: Record<string, string> = {
    ENOSPC: "no space left on the device",
    EDQUOT: "disk quota exceeded",
    EROFS: "the file system is read-only",
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    ENOENT: "no such file or directory",
    ENOTDIR: "a component of the path is not a directory",
    EISDIR: "is a directory",
    EEXIST: "already exists",
    ELOOP: "is a symbolic link (not followed)",
    EIO: "input/output error",
    EMFILE: "too many open files",
    ENAMETOOLONG: "the name is too long",
  };
  if (typeof code === "string") return `${meaning[code] ?? (error as Error).message} (${code})`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * A file procman must write (or read) could not be: a full disk, a read-only or foreign directory.
 * An operational failure (exit 1) naming the file, never an "internal error".
 */
export class FileError extends ProcmanError {
  readonly file: string;
  readonly errno: string | undefined;
  constructor(file: string, action: string, cause: unknown) {
    super("EFILE", `cannot ${action} ${file}: ${describeSystemError(cause)}`, 1, { cause });
    this.file = file;
    this.errno = (cause as NodeJS.ErrnoException | undefined)?.code;
  }
}

/** One of procman's own state files is damaged or missing. Exit 1; `stop` still works around it. */
export class StateFileError extends ProcmanError {
  readonly file: string;
  readonly problem: string;
  constructor(file: string, problem: string) {
    super("ESTATE", `${file}: ${problem}`, 1);
    this.file = file;
    this.problem = problem;
  }
}
