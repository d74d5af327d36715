// The per-target quoting of generators/quote.ts, checked by decoding: /bin/sh for shQuote, a
// decoder of systemd's unquoting rules for the systemd words, supervisor's own config code for
// supervisorWord, plistlib for the XML text.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { writeFileSync } from "node:fs";
import path from "node:path";
import {
  shQuote,
  supervisorCannotCarry,
  supervisorValue,
  supervisorWord,
  hasLoneSurrogate,
  systemdEnvFileValue,
  systemdEnvironment,
  systemdExecWord,
  systemdPath,
  tmpfilesWord,
  xmlCannotCarry,
  xmlText,
} from "../../generators/quote.js";
import { makeTempDir } from "../helpers/tmp.js";
import { HOSTILE_ARGS, MULTILINE_ARGS } from "./hostile.js";
import { decodeEnvironment, decodeEnvironmentFile, decodeExecLine, expandSpecifiers, parseUnitFile, splitWords, value } from "./systemd-syntax.js";
import { need, plistlibLoad, shWords, supervisorRead } from "./target-tools.js";

/** Every control character but NUL (no process argument can hold NUL). */
const CONTROLS = Array.from({ length: 31 }, (_, index) => String.fromCharCode(index + 1)).concat("\u007f");
const ALL = [...HOSTILE_ARGS, ...MULTILINE_ARGS, ...CONTROLS, CONTROLS.join(""), "a\u0001b", "x\u001fy"];

// ---- sh ----

test("shQuote: /bin/sh gives back every string exactly, control characters and newlines included", () => {
  assert.equal(shWords(ALL.map(shQuote).join(" ")), ALL);
  assert.is(shQuote("it's"), `'it'\\''s'`);
  assert.is(shQuote(""), "''");
});

// ---- systemd ----

test("systemd decoder: the rules of systemd.syntax(7) it implements", () => {
  assert.equal(splitWords(`a "b c" 'd e' f\\sg "h\\"i" \\x41 "\\n"`), ["a", "b c", "d e", "f g", 'h"i', "A", "\n"]);
  assert.throws(() => splitWords(`f\\ g`), /unknown escape/);
  assert.equal(splitWords(`a"b c"d`), ["ab cd"]);
  assert.equal(splitWords(`""`), [""]);
  assert.is(expandSpecifiers("100%% %%n"), "100% %n");
  assert.throws(() => expandSpecifiers("100%"), /specifier/);
  assert.throws(() => expandSpecifiers("a%nb"), /specifier %n/);
  assert.throws(() => splitWords(`"abc`), /unbalanced/);
  assert.throws(() => splitWords(`a\\qb`), /unknown escape/);
  assert.throws(() => decodeExecLine(`/bin/echo $HOME`), /unescaped \$/);
  assert.throws(() => decodeExecLine(`/bin/echo a ; /bin/echo b`), /separates commands/);
  assert.equal(decodeExecLine(`/bin/echo "$$HOME" \\; ";"`), ["/bin/echo", "$HOME", ";", ";"]);
  assert.equal(decodeEnvironment([`"A=b c" D=e`, `"F=$$"`]), { A: "b c", D: "e", F: "$$" });
  // A line ending in a backslash continues on the next line; a comment line is skipped.
  const unit = parseUnitFile("[Unit]\nDescription=a\\\n# comment\nRequires=x.service\n\n[Service]\nExecStart=/bin/true\n");
  assert.is(value(unit, "Unit", "Description"), "a Requires=x.service");
});

test("systemdExecWord: each word decodes to exactly the argument (%, $, quotes, escapes, control characters)", () => {
  const line = ["/bin/echo", ...ALL].map(systemdExecWord).join(" ");
  assert.equal(decodeExecLine(line), ["/bin/echo", ...ALL]);
  for (const arg of ALL) assert.equal(decodeExecLine(`/bin/echo ${systemdExecWord(arg)}`), ["/bin/echo", arg], JSON.stringify(arg));
  assert.is(systemdExecWord(""), '""');
  assert.is(systemdExecWord("100%"), '"100%%"');
  assert.is(systemdExecWord("$HOME"), '"$$HOME"');
  assert.is(systemdExecWord(";"), '";"');
  assert.not.match(line, /\n/);
});

test("systemdEnvironment: each assignment decodes to exactly the value; $ is left alone there", () => {
  const env: Record<string, string> = {};
  ALL.forEach((text, index) => (env[`V${index}`] = text));
  const lines = Object.entries(env).map(([name, text]) => systemdEnvironment(name, text));
  assert.equal(decodeEnvironment(lines), env);
  assert.is(systemdEnvironment("A", "$X %n"), '"A=$X %%n"');
  assert.is(systemdEnvironment("A", 'q"\\'), '"A=q\\"\\\\"');
});

test("EnvironmentFile= decoder: the rules of systemd's env-file parser it implements", () => {
  assert.equal(decodeEnvironmentFile("# c\n; c\nA=plain  \nB= 'single \\ \"x\"' \nC=\"d\\\"q\\\\b\\x\\$\"\nD=a\\\nb\nE=\n"), {
    A: "plain",
    B: 'single \\ "x"',
    C: 'd"q\\b\\x$',
    D: "ab",
    E: "",
  });
  assert.equal(decodeEnvironmentFile('F="line\nbreak\rcr"\n'), { F: "line\nbreak\rcr" });
  assert.throws(() => decodeEnvironmentFile('G="open\n'), /inside quotes/);
});

test("systemdEnvFileValue: each value reads back exactly (quotes, backslashes, $, %, line breaks, control characters)", () => {
  const env: Record<string, string> = {};
  ALL.forEach((text, index) => (env[`V${index}`] = text));
  const file = Object.entries(env).map(([name, text]) => `${name}=${systemdEnvFileValue(text)}\n`).join("");
  assert.equal(decodeEnvironmentFile(file), env);
  assert.is(systemdEnvFileValue('a"b\\c $X %n'), '"a\\"b\\\\c $X %n"');
  assert.ok(hasLoneSurrogate("a\ud800"));
  assert.ok(hasLoneSurrogate("\udc00b"));
  assert.not.ok(hasLoneSurrogate("日本語 \ud83d\ude00"));
});

test("tmpfilesWord: unquoted like a unit setting; % doubled, $ left alone", () => {
  for (const text of ALL) assert.equal(splitWords(expandSpecifiers(tmpfilesWord(text))), [text], JSON.stringify(text));
  assert.is(tmpfilesWord("/run/a b 100%/$X"), '"/run/a b 100%%/$X"');
});

test("systemdPath: only % is special", () => {
  assert.is(systemdPath("/srv/100% sure/$HOME \\x"), "/srv/100%% sure/$HOME \\x");
  assert.is(expandSpecifiers(systemdPath("/a%n%%b")), "/a%n%%b");
});

// ---- supervisord ----

test("supervisorWord: supervisor's own parser (configparser, %-expansion, shlex) gives back every one-line argument", () => {
  if (!need("supervisord", "supervisorWord round trip")) return;
  const oneLine = ALL.filter((text) => !/[\r\n]/.test(text));
  // Each argument last too: configparser strips the end of the value (an argument ending in whitespace).
  const commands = [oneLine, ...oneLine.map((text) => [text])];
  const dir = makeTempDir("procman-sv-quote-");
  const sections = commands.map((args, index) =>
    [`[program:p${index}]`, `command=${["/bin/echo", ...args].map(supervisorWord).join(" ")}`, "stdout_logfile=NONE", "autostart=false"].join("\n"),
  );
  const file = path.join(dir, "supervisord.conf");
  writeFileSync(file, `[supervisord]\nlogfile=%(here)s/s.log\npidfile=%(here)s/s.pid\n\n${sections.join("\n\n")}\n`);
  const programs = supervisorRead(file);
  commands.forEach((args, index) => assert.equal(programs[`p${index}`]!.argv, ["/bin/echo", ...args], JSON.stringify(args)));
});

test("supervisorWord: the shape of the encoding", () => {
  assert.is(supervisorWord(""), '""');
  assert.is(supervisorWord("/usr/bin/env"), "/usr/bin/env");
  assert.is(supervisorWord("a b"), 'a" "b');
  assert.is(supervisorWord("end "), 'end" "');
  assert.is(supervisorWord("a ;b"), 'a" "\\;b');
  assert.is(supervisorWord("100%"), "100\\%%");
  // Whatever the argument, the line never has whitespace before ; or # (an inline comment).
  for (const text of ALL) assert.not.match(supervisorWord(text), /[\s\x1c-\x1f\x85][;#]/, JSON.stringify(text));
});

test("supervisorWord: escapes by code point; Unicode whitespace goes inside double quotes", () => {
  assert.is(supervisorWord("a😀b"), "a\\😀b");
  assert.is(supervisorWord("\uD800x"), "\\\uD800x");
  assert.is(supervisorWord("x\uDC00"), "x\\\uDC00");
  assert.is(supervisorWord("a\u3000b\u0085c\u001cd"), 'a"\u3000"b"\u0085"c"\u001c"d');
  assert.is(supervisorWord("ü%"), "\\ü\\%%");
});

// ---- the fast paths against the definitions ----

/** The quoting functions as first written (one replace per rule): the fast paths must agree on every string. */
const DEFINITIONS: Record<string, [(text: string) => string, (text: string) => string]> = {
  shQuote: [shQuote, (text) => `'${text.replace(/'/g, `'\\''`)}'`],
  systemdExecWord: [
    systemdExecWord,
    (text) => `"${cEscape(text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')).replace(/%/g, "%%").replace(/\$/g, "$$$$")}"`,
  ],
  systemdEnvironment: [
    (text) => systemdEnvironment("N", text),
    (text) => `"${cEscape(`N=${text}`.replace(/\\/g, "\\\\").replace(/"/g, '\\"')).replace(/%/g, "%%")}"`,
  ],
  tmpfilesWord: [tmpfilesWord, (text) => `"${cEscape(text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')).replace(/%/g, "%%")}"`],
  systemdPath: [systemdPath, (text) => text.replace(/%/g, "%%")],
  systemdEnvFileValue: [systemdEnvFileValue, (text) => `"${text.replace(/[\\"]/g, (char) => `\\${char}`)}"`],
  supervisorWord: [
    supervisorWord,
    (text) =>
      text === ""
        ? '""'
        : text.replace(/[^A-Za-z0-9_./=:,+@-]/gu, (char) => (/[\s\x1c-\x1f\x85]/.test(char) ? `"${char}"` : `\\${char}`)).replace(/%/g, "%%"),
  ],
  supervisorValue: [supervisorValue, (text) => text.replace(/%/g, "%%")],
  xmlText: [xmlText, (text) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\r/g, "&#13;")],
  hasLoneSurrogate: [
    (text) => String(hasLoneSurrogate(text)),
    (text) => String(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text)),
  ],
};

function cEscape(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, (char) =>
    char === "\n" ? "\\n" : char === "\t" ? "\\t" : char === "\r" ? "\\r" : `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

test("quoting: the fast paths (nothing to escape, one scan) give what the definitions give, on every string", () => {
  const alphabet = [
    "a", "Z", "0", "_", ".", "/", "=", ":", ",", "+", "@", "-", " ", "\t", "\n", "\r", "\x1c", "\x1f", "\x85", "\u00a0", "\u2003", "\u3000", "\ufeff",
    "\x00", "\x01", "\x7f", "\\", '"', "'", "%", "$", "&", "<", ">", ";", "#", "ü", "€", "😀", "\uD800", "\uDC00", "`",
  ];
  // Deterministic: a linear congruential generator, so that a failure names a string that stays the same.
  let seed = 1;
  const next = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  const texts = [...ALL, ...alphabet];
  for (let i = 0; i < 20000; i++) texts.push(Array.from({ length: next(10) }, () => alphabet[next(alphabet.length)]).join(""));
  for (const [name, [fast, definition]] of Object.entries(DEFINITIONS)) {
    for (const text of texts) assert.is(fast(text), definition(text), `${name}(${JSON.stringify(text)})`);
  }
});

test("supervisorCannotCarry and supervisorValue: what a plain value can hold", () => {
  assert.is(supervisorCannotCarry("/srv/app 100%"), undefined);
  assert.is(supervisorCannotCarry("/srv/a;b#c"), undefined);
  assert.match(supervisorCannotCarry("/srv/a\nb")!, "line break");
  assert.match(supervisorCannotCarry("/srv/a\rb")!, "line break");
  assert.match(supervisorCannotCarry("/srv/a ;b")!, "inline comment");
  assert.match(supervisorCannotCarry("/srv/a\t#b")!, "inline comment");
  assert.match(supervisorCannotCarry("/srv/a ")!, "whitespace");
  assert.is(supervisorValue("/srv/100%"), "/srv/100%%");
});

// ---- launchd (XML) ----

test("xmlText: plistlib reads back &, <, >, CR, tab, LF, non-ASCII; xmlCannotCarry names the other control characters", () => {
  if (!need("python3", "xmlText round trip")) return;
  const carriable = ALL.filter((text) => xmlCannotCarry(text) === undefined);
  assert.ok(carriable.includes("crlf\r\n") && carriable.includes("&amp;") && carriable.includes("tab\there") && carriable.includes("\u007f"));
  const file = path.join(makeTempDir("procman-xml-"), "t.plist");
  writeFileSync(
    file,
    `<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0">\n<array>\n${carriable.map((text) => `<string>${xmlText(text)}</string>`).join("\n")}\n</array>\n</plist>\n`,
  );
  assert.equal(plistlibLoad(file), carriable);
  assert.is(xmlText("a\rb"), "a&#13;b");
  for (const char of CONTROLS) {
    const expected = char === "\t" || char === "\n" || char === "\r" ? undefined : `control character 0x${char.charCodeAt(0).toString(16).padStart(2, "0")}`;
    if (char === "\u007f") assert.is(xmlCannotCarry(char), undefined);
    else assert.is(xmlCannotCarry(`a${char}b`), expected, JSON.stringify(char));
  }
});

test.run();
