// user and group: who the process runs as (nobody else, when forceDisableUserChange is set).
import { checkLine, type Report } from "../checks.js";
import type { ProcessContext } from "../types.js";

const ACCOUNT = /^(?:[A-Za-z_][A-Za-z0-9_.-]*\$?|[0-9]+)$/;

export function resolveAccount(raw: unknown, field: "user" | "group", context: ProcessContext, report: Report): string | undefined {
  if (raw === undefined) return undefined;
  const text = checkLine(raw, field, report);
  if (text !== undefined && !ACCOUNT.test(text)) {
    report(field, `${JSON.stringify(text)} is not a valid ${field} name or numeric id`);
    return undefined;
  }
  return context.forceDisableUserChange ? undefined : text;
}
