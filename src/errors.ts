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
