// Why a process is stopped, started, kept or forgotten: data in the plan and in events, rendered
// to text only here, in the model's terms.

export type PlanReason =
  /** Not in the previous generation. */
  | { readonly kind: "new" }
  /** Runs differently now; `fields` are model fields (empty: the record differs, nothing named). */
  | { readonly kind: "changed"; readonly fields: readonly string[] }
  /** Restarted because what it activatesAfter (transitively) changed: those processes. */
  | { readonly kind: "dependency-changed"; readonly causes: readonly string[] }
  | { readonly kind: "removed" }
  /** The empty model: procman stop. */
  | { readonly kind: "stop-all" }
  /** Declared, but no record of it running (an interrupted switch, an operator's stop). */
  | { readonly kind: "not-running" }
  | { readonly kind: "died" }
  /** It died and its PID now names an unrelated process, which is left alone. */
  | { readonly kind: "pid-reused" }
  | { readonly kind: "unchanged" }
  /** Put back as it was after a failure or an interruption. */
  | { readonly kind: "undo" }
  /** An operator's command for this process: procman stop|start|restart|reload NAME. */
  | { readonly kind: "operator"; readonly command: string }
  /** Started (or kept) because `name`, which activatesAfter it, was asked for. */
  | { readonly kind: "dependency-of"; readonly name: string }
  /** Stopped (or restarted) with `name`, which it activatesAfter. */
  | { readonly kind: "dependent-of"; readonly name: string };

export type PlanReasonKind = PlanReason["kind"];

export function describeReason(reason: PlanReason): string {
  switch (reason.kind) {
    case "new":
      return "new";
    case "changed":
      return reason.fields.length === 0 ? "changed (runs differently from its record)" : `changed: ${reason.fields.join(", ")}`;
    case "dependency-changed":
      return `restarted with what it activatesAfter (${reason.causes.join(", ")} changed)`;
    case "removed":
      return "removed from the model";
    case "stop-all":
      return "stopping everything";
    case "not-running":
      return "was not running";
    case "died":
      return "died";
    case "pid-reused":
      return "its PID now belongs to another process (left alone)";
    case "unchanged":
      return "unchanged and running";
    case "undo":
      return "undo";
    case "operator":
      return `procman ${reason.command}`;
    case "dependency-of":
      return `${reason.name} activatesAfter it`;
    case "dependent-of":
      return `it activatesAfter ${reason.name}`;
  }
}
