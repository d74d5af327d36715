// A decoder for what systemd reads from a unit file, written from systemd.syntax(7),
// systemd.service(5) "Command lines" and systemd.exec(5) "Environment=" (systemd 252): the tests
// parse generated units back with it, because `systemd-analyze verify` does not notice a quoting
// mistake. Strict: anything the generators must never produce (another specifier than %%, an
// unescaped $, an unknown escape, an unbalanced quote, an unquoted lone ";") throws.

export type UnitFile = Map<string, [string, string][]>;

/**
 * The unit file parser: sections, comments (# or ; at the start of a line), a line that ends in an
 * unescaped backslash continues on the next one (the backslash becomes a space), keys and values
 * stripped of surrounding whitespace.
 */
export function parseUnitFile(text: string): UnitFile {
  const unit: UnitFile = new Map();
  let section: [string, string][] | undefined;
  let continuation: string | undefined;
  for (const raw of text.split("\n")) {
    if (/^[ \t]*[#;]/.test(raw)) continue; // comments, also between continuation lines
    let line = continuation === undefined ? raw : continuation + raw;
    let escaped = false;
    for (const char of line) escaped = escaped ? false : char === "\\";
    if (escaped) {
      continuation = `${line.slice(0, -1)} `;
      continue;
    }
    continuation = undefined;
    line = line.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "");
    if (line === "") continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header !== null) {
      section = unit.get(header[1]!) ?? [];
      unit.set(header[1]!, section);
      continue;
    }
    const eq = line.indexOf("=");
    if (eq < 0 || section === undefined) throw new Error(`not an assignment in a section: ${JSON.stringify(line)}`);
    section.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  if (continuation !== undefined) throw new Error("the file ends in a continuation line");
  return unit;
}

/** Every value of `key` in `section`, in order. */
export function values(unit: UnitFile, section: string, key: string): string[] {
  return (unit.get(section) ?? []).filter(([name]) => name === key).map(([, value]) => value);
}

/** The one value of `key`; throws when it is missing or repeated. */
export function value(unit: UnitFile, section: string, key: string): string {
  const found = values(unit, section, key);
  if (found.length !== 1) throw new Error(`[${section}] ${key}= appears ${found.length} times`);
  return found[0]!;
}

/** Specifier expansion, allowing only %% (→ %): any other specifier would change the value. */
export function expandSpecifiers(text: string): string {
  return text.replace(/%(.?)/gs, (_, next: string) => {
    if (next === "%") return "%";
    throw new Error(`specifier %${next} in ${JSON.stringify(text)}`);
  });
}

const WHITESPACE = " \t\n\r";

/** cunescape_one: the escape after a backslash; returns the text and how many characters it used. */
function unescapeOne(text: string, index: number): [string, number] {
  const char = text[index];
  const simple: Record<string, string> = { a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v", "\\": "\\", '"': '"', "'": "'", s: " " };
  if (char === undefined) throw new Error("a backslash at the end of the value");
  if (char in simple) return [simple[char]!, 1];
  const hex = (length: number) => {
    const digits = text.slice(index + 1, index + 1 + length);
    if (!new RegExp(`^[0-9a-fA-F]{${length}}$`).test(digits)) throw new Error(`bad \\${char} escape in ${JSON.stringify(text)}`);
    const code = Number.parseInt(digits, 16);
    if (code === 0) throw new Error("\\x00 is refused");
    return code;
  };
  if (char === "x") {
    const code = hex(2);
    if (code >= 0x80) throw new Error("\\x escapes above 0x7f are bytes, not characters: not expected here");
    return [String.fromCharCode(code), 3];
  }
  if (char === "u") return [String.fromCodePoint(hex(4)), 5];
  if (char === "U") return [String.fromCodePoint(hex(8)), 9];
  if (/[0-7]/.test(char)) {
    const digits = text.slice(index, index + 3);
    if (!/^[0-7]{3}$/.test(digits)) throw new Error(`bad octal escape in ${JSON.stringify(text)}`);
    const code = Number.parseInt(digits, 8);
    if (code === 0 || code >= 0x80) throw new Error(`unexpected octal escape \\${digits}`);
    return [String.fromCharCode(code), 3];
  }
  throw new Error(`unknown escape \\${char} in ${JSON.stringify(text)}`);
}

/** extract_first_word(EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE), repeated: the words of a value. */
export function splitWords(text: string, options: { commandLine?: boolean } = {}): string[] {
  const words: string[] = [];
  let index = 0;
  for (;;) {
    while (index < text.length && WHITESPACE.includes(text[index]!)) index++;
    if (index >= text.length) return words;
    // ExecStart=: a lone unquoted ";" separates two command lines.
    if (options.commandLine === true && text[index] === ";" && (index + 1 >= text.length || WHITESPACE.includes(text[index + 1]!))) {
      throw new Error(`an unquoted ";" separates commands in ${JSON.stringify(text)}`);
    }
    // ... and a lone "\;" is the word ";".
    if (options.commandLine === true && text.startsWith("\\;", index) && (index + 2 >= text.length || WHITESPACE.includes(text[index + 2]!))) {
      words.push(";");
      index += 2;
      continue;
    }
    let word = "";
    let quote: string | undefined;
    for (;;) {
      const char = text[index];
      if (char === undefined) {
        if (quote !== undefined) throw new Error(`unbalanced ${quote} in ${JSON.stringify(text)}`);
        break;
      }
      if (char === "\\") {
        const [unescaped, used] = unescapeOne(text, index + 1);
        word += unescaped;
        index += 1 + used;
        continue;
      }
      if (quote !== undefined) {
        if (char === quote) quote = undefined;
        else word += char;
        index++;
        continue;
      }
      if (WHITESPACE.includes(char)) break;
      if (char === '"' || char === "'") quote = char;
      else word += char;
      index++;
    }
    words.push(word);
  }
}

/** $$ → $; any other $ is an environment variable reference, which the generators must not leave. */
export function unescapeDollars(word: string): string {
  return word.replace(/\$(.?)/gs, (_, next: string) => {
    if (next === "$") return "$";
    throw new Error(`unescaped $ in ${JSON.stringify(word)}`);
  });
}

/** ExecStart= (and the other Exec*= settings) → argv, as systemd would execute it. */
export function decodeExecLine(valueText: string): string[] {
  const argv = splitWords(expandSpecifiers(valueText), { commandLine: true }).map(unescapeDollars);
  if (argv.length === 0) throw new Error("empty command line");
  if (/^[@\-:+!]/.test(argv[0]!) && !valueText.startsWith('"')) throw new Error(`prefix character on ${argv[0]}`);
  return argv;
}

/** Environment= lines → variables; $ has no meaning there. */
export function decodeEnvironment(lines: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of lines) {
    for (const word of splitWords(expandSpecifiers(line))) {
      const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(word);
      if (match === null) throw new Error(`not an assignment: ${JSON.stringify(word)}`);
      env[match[1]!] = match[2]!;
    }
  }
  return env;
}

/**
 * What systemd reads from an EnvironmentFile= (written from env-file.c's parser, systemd 252): lines
 * `KEY=VALUE`; `#`/`;` lines are comments; unquoted values lose surrounding whitespace and take a
 * backslash as "the next character literally"; '…' is literal; in "…" a backslash escapes only
 * `"`, `\`, `` ` `` and `$` (before anything else it stays), and a backslash-newline is dropped.
 */
export function decodeEnvironmentFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  type State = "preKey" | "key" | "preValue" | "value" | "valueEscape" | "single" | "double" | "doubleEscape" | "comment";
  let state: State = "preKey";
  let key = "";
  let value = "";
  let valueWhitespaceAt: number | undefined;
  const isNewline = (c: string) => c === "\n" || c === "\r";
  const isSpace = (c: string) => " \t\n\r".includes(c);
  const push = () => {
    const name = key.replace(/[ \t\n\r]+$/, "");
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not a variable name: ${JSON.stringify(name)}`);
    if (name in env) throw new Error(`${name} assigned twice`);
    env[name] = value;
    key = "";
    value = "";
    valueWhitespaceAt = undefined;
  };
  for (const c of text) {
    switch (state) {
      case "preKey":
        if (c === "#" || c === ";") state = "comment";
        else if (!isSpace(c)) {
          state = "key";
          key = c;
        }
        break;
      case "key":
        if (isNewline(c)) throw new Error(`a line without "=": ${JSON.stringify(key)}`);
        else if (c === "=") state = "preValue";
        else key += c;
        break;
      case "preValue":
        if (isNewline(c)) {
          push();
          state = "preKey";
        } else if (c === "'") state = "single";
        else if (c === '"') state = "double";
        else if (c === "\\") state = "valueEscape";
        else if (!isSpace(c)) {
          state = "value";
          value += c;
        }
        break;
      case "value":
        if (isNewline(c)) {
          if (valueWhitespaceAt !== undefined) value = value.slice(0, valueWhitespaceAt);
          push();
          state = "preKey";
        } else if (c === "\\") {
          state = "valueEscape";
          valueWhitespaceAt = undefined;
        } else {
          if (!isSpace(c)) valueWhitespaceAt = undefined;
          else if (valueWhitespaceAt === undefined) valueWhitespaceAt = value.length;
          value += c;
        }
        break;
      case "valueEscape":
        state = "value";
        if (!isNewline(c)) value += c;
        break;
      case "single":
        if (c === "'") state = "preValue";
        else value += c;
        break;
      case "double":
        if (c === '"') state = "preValue";
        else if (c === "\\") state = "doubleEscape";
        else value += c;
        break;
      case "doubleEscape":
        state = "double";
        if ('"\\`$'.includes(c)) value += c;
        else if (c !== "\n") value += `\\${c}`;
        break;
      case "comment":
        if (isNewline(c)) state = "preKey";
        break;
    }
  }
  if (state === "key") throw new Error(`a line without "=": ${JSON.stringify(key)}`);
  if (state !== "preKey" && state !== "comment") {
    if (state === "single" || state === "double" || state === "doubleEscape") throw new Error("the file ends inside quotes");
    if (state === "value" && valueWhitespaceAt !== undefined) value = value.slice(0, valueWhitespaceAt);
    push();
  }
  return env;
}
