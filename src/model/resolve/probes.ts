// The checks readiness and liveness share: a TCP port, an HTTP status, a shell command.
import { checkKnownKeys, checkLine, checkNumber, checkText, describeValue, isPlainObject, type Report } from "../checks.js";
import { DEFAULTS } from "../defaults.js";

export function resolveTcp(
  value: unknown,
  field: string,
  report: Report,
  extraKeys: readonly string[] = [],
): { host: string; port: number; raw: Record<string, unknown> } {
  if (!isPlainObject(value)) {
    report(field, `must be an object such as { port: 8080 } (got ${describeValue(value)})`);
    return { host: DEFAULTS.tcpHost, port: 0, raw: {} };
  }
  checkKnownKeys(value, ["port", "host", ...extraKeys], field, report);
  const port = checkNumber(value.port, `${field}.port`, report, { min: 1, max: 65535, integer: true }) ?? 0;
  const host = value.host === undefined ? DEFAULTS.tcpHost : resolveHost(value.host, `${field}.host`, report);
  return { host, port, raw: value };
}

// A host name, an IPv4 address or an IPv6 one (no brackets; a zone after %): nothing a shell or a
// config file would read as syntax.
const HOST = /^[A-Za-z0-9._:%-]+$/;

function resolveHost(raw: unknown, field: string, report: Report): string {
  const host = checkLine(raw, field, report);
  if (host === undefined) return DEFAULTS.tcpHost;
  if (!HOST.test(host)) report(field, `${JSON.stringify(host)} is not a host name or an IP address`);
  return host;
}

export function resolveHttp(value: unknown, field: string, report: Report): { url: string; status: number } {
  if (!isPlainObject(value)) {
    report(field, `must be an object such as { url: "http://127.0.0.1:8080/" } (got ${describeValue(value)})`);
    return { url: "", status: DEFAULTS.httpStatus };
  }
  checkKnownKeys(value, ["url", "status"], field, report);
  const url = checkLine(value.url, `${field}.url`, report) ?? "";
  if (url !== "" && !/^https?:\/\/[^/\s]+/.test(url)) {
    report(`${field}.url`, `must be an http:// or https:// URL (got ${JSON.stringify(url)})`);
  }
  const status =
    value.status === undefined
      ? DEFAULTS.httpStatus
      : (checkNumber(value.status, `${field}.status`, report, { min: 100, max: 599, integer: true }) ?? DEFAULTS.httpStatus);
  return { url, status };
}

/** A shell snippet: any text but NUL, and not blank. */
export function resolveShell(value: unknown, field: string, report: Report): string {
  const command = checkText(value, field, report);
  if (command === undefined) return "";
  if (command.trim() === "") report(field, "must not be empty");
  return command;
}

/** Seconds, greater than 0: undefined when not given, null when invalid (reported). */
export function optionalSeconds(value: unknown, field: string, max: number, report: Report): number | undefined | null {
  if (value === undefined) return undefined;
  return checkNumber(value, field, report, { min: 0, max, exclusiveMin: true, unit: "seconds" }) ?? null;
}
