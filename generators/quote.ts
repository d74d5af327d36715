// Quoting for each target's own parser. Each function returns text that the target turns back into
// exactly the given string, or the caller must refuse the value (see the `cannot*` predicates).

/** POSIX sh: single quotes, with ' written as '\'' (no other character is special inside). */
export function shQuote(text: string): string {
  // Most words have no quote: skip the replace (generators quote every word of 10,000 processes).
  return text.includes("'") ? `'${text.replace(/'/g, `'\\''`)}'` : `'${text}'`;
}

/** Characters some quoting below changes; text without any of them is written as it is, quoted. */
const CONTROL = /[\u0000-\u001f\u007f]/;
const SYSTEMD_EXEC_SPECIAL = /[\\"%$\u0000-\u001f\u007f]/;
const SYSTEMD_QUOTED_SPECIAL = /[\\"%\u0000-\u001f\u007f]/;

/** A C-style escape for control characters, used by systemd inside double quotes. */
function cEscapeControls(text: string): string {
  if (!CONTROL.test(text)) return text;
  return text.replace(/[\u0000-\u001f\u007f]/g, (char) => {
    if (char === "\n") return "\\n";
    if (char === "\t") return "\\t";
    if (char === "\r") return "\\r";
    return `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
}

/** One word of an ExecStart= line: `\`, `"`, control characters escaped; `%` → `%%`; `$` → `$$`. */
export function systemdExecWord(text: string): string {
  if (!SYSTEMD_EXEC_SPECIAL.test(text)) return `"${text}"`;
  let escaped = text.includes("\\") ? text.replace(/\\/g, "\\\\") : text;
  if (escaped.includes('"')) escaped = escaped.replace(/"/g, '\\"');
  escaped = cEscapeControls(escaped);
  if (escaped.includes("%")) escaped = escaped.replace(/%/g, "%%");
  if (escaped.includes("$")) escaped = escaped.replace(/\$/g, "$$$$");
  return `"${escaped}"`;
}

/** One Environment= assignment: `$` has no meaning there, `%` does. */
export function systemdEnvironment(name: string, value: string): string {
  if (!SYSTEMD_QUOTED_SPECIAL.test(name) && !SYSTEMD_QUOTED_SPECIAL.test(value)) return `"${name}=${value}"`;
  const escaped = cEscapeControls(`${name}=${value}`.replace(/\\/g, "\\\\").replace(/"/g, '\\"')).replace(/%/g, "%%");
  return `"${escaped}"`;
}

/** Settings that are not unquoted (WorkingDirectory=, PIDFile=, append: paths): only `%` is special. */
export function systemdPath(text: string): string {
  if (!text.includes("%")) return text;
  return text.replace(/%/g, "%%");
}

/**
 * supervisord `command=`: shlex.split (POSIX) then %-formatting. Whitespace (as Python's
 * str.isspace() sees it) goes inside double quotes rather than after a backslash: RawConfigParser
 * strips trailing whitespace from the value, which would leave a dangling `\` after a last argument
 * that ends in whitespace.
 */
export function supervisorWord(text: string): string {
  if (text === "") return '""';
  if (!SUPERVISOR_SPECIAL.test(text)) return text;
  // One scan, copying the runs of safe characters: a wrapper script is full of special characters,
  // and a replace with a callback per character costs 2-3 times as much on 10,000 programs.
  let out = "";
  let start = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 128) {
      const kind = SUPERVISOR_ASCII[code];
      if (kind === SAFE) continue;
      // "%" is %-formatted as well: `\%%` (the inserted `\` and `"` are never "%").
      out += text.slice(start, index) + (kind === QUOTED ? `"${text[index]}"` : code === 37 ? "\\%%" : `\\${text[index]}`);
      start = index + 1;
      continue;
    }
    // By code point: a character beyond U+FFFF must not be split into two escaped halves.
    let width = 1;
    if (code >= 0xd800 && code <= 0xdbff && index + 1 < text.length) {
      const next = text.charCodeAt(index + 1);
      if (next >= 0xdc00 && next <= 0xdfff) width = 2;
    }
    const char = text.slice(index, index + width);
    out += text.slice(start, index) + (SUPERVISOR_WHITESPACE.test(char) ? `"${char}"` : `\\${char}`);
    index += width - 1;
    start = index + 1;
  }
  return out + text.slice(start);
}

const SUPERVISOR_SPECIAL = /[^A-Za-z0-9_./=:,+@-]/;
/** Whitespace as Python's str.isspace() sees it: inside double quotes; every other special character after a backslash. */
const SUPERVISOR_WHITESPACE = /^[\s\x1c-\x1f\x85]$/u;
const SAFE = 0;
const ESCAPED = 1;
const QUOTED = 2;
/** The kind of each ASCII character. */
const SUPERVISOR_ASCII = Array.from({ length: 128 }, (_, code) => {
  const char = String.fromCharCode(code);
  if (/[A-Za-z0-9_./=:,+@-]/.test(char)) return SAFE;
  return /[\s\x1c-\x1f]/.test(char) ? QUOTED : ESCAPED;
});

/** supervisord plain values (paths): %-formatting only. */
export function supervisorValue(text: string): string {
  if (!text.includes("%")) return text;
  return text.replace(/%/g, "%%");
}

/** Values RawConfigParser would cut (whitespace then ; or #), split (newlines) or strip (whitespace at either end). */
export function supervisorCannotCarry(text: string): string | undefined {
  if (/[\r\n]/.test(text)) return "a line break";
  if (/[\s\x1c-\x1f\x85][;#]/.test(text)) return 'whitespace followed by ";" or "#" (an inline comment to supervisord)';
  if (/^[\s\x1c-\x1f\x85]|[\s\x1c-\x1f\x85]$/.test(text)) return "whitespace at its start or end (supervisord strips it)";
  return undefined;
}

const XML_SPECIAL = /[&<>\r]/;

/** XML text content; XML 1.0 cannot carry control characters other than tab, LF and CR. */
export function xmlText(text: string): string {
  if (!XML_SPECIAL.test(text)) return text;
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\r/g, "&#13;");
}

export function xmlCannotCarry(text: string): string | undefined {
  const match = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.exec(text);
  return match === null ? undefined : `control character 0x${match[0].charCodeAt(0).toString(16).padStart(2, "0")}`;
}

/**
 * One value of a systemd EnvironmentFile= (env-file.c): inside double quotes only `\` and `"` need
 * a backslash (a backslash before any other character stays), line breaks are kept as they are,
 * and nothing is expanded — no `%` specifiers, no `$` variables.
 */
export function systemdEnvFileValue(value: string): string {
  if (!value.includes("\\") && !value.includes('"')) return `"${value}"`;
  return `"${value.replace(/[\\"]/g, (char) => `\\${char}`)}"`;
}

/** One field of a tmpfiles.d line: unquoted and C-unescaped like a unit setting, `%` specifiers expanded, no `$`. */
export function tmpfilesWord(text: string): string {
  if (!SYSTEMD_QUOTED_SPECIAL.test(text)) return `"${text}"`;
  return `"${cEscapeControls(text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')).replace(/%/g, "%%")}"`;
}

const SURROGATE = /[\uD800-\uDFFF]/;

/** A UTF-16 half without its other half: no UTF-8 encoding exists for it (Node writes U+FFFD). */
export function hasLoneSurrogate(text: string): boolean {
  if (!SURROGATE.test(text)) return false;
  return /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}
