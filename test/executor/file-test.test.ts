// A readiness command that is a bare file test is answered without a shell: the answer must be
// the one /bin/sh gives, and anything sh would expand or treat as syntax must go to the shell.
import { execFileSync } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { fileTestOf } from "../../src/executor/file-test.js";
import { makeTempDir } from "../helpers/tmp.js";

function shellSays(command: string, directory: string): boolean {
  try {
    execFileSync("/bin/sh", ["-c", command], { cwd: directory, stdio: "ignore", env: {} });
    return true;
  } catch {
    return false;
  }
}

test("a bare test of a literal path answers as sh does", () => {
  const dir = makeTempDir();
  writeFileSync(path.join(dir, "full"), "x");
  writeFileSync(path.join(dir, "empty"), "");
  mkdirSync(path.join(dir, "sub"));
  symlinkSync(path.join(dir, "missing"), path.join(dir, "dangling"));
  symlinkSync(path.join(dir, "full"), path.join(dir, "link"));
  const at = (name: string) => path.join(dir, name);
  symlinkSync(path.join(dir, "loop"), path.join(dir, "loop"));
  // ENOENT, ENOTDIR (under a regular file), ELOOP: each a plain "false" for sh's test.
  const files = [at("full"), at("empty"), at("sub"), at("dangling"), at("link"), at("missing"), at("full/x"), at("loop"), at("loop/x"), `'${at("sub")}'`, `"${at("empty")}"`];
  let answered = 0;
  for (const operator of ["-e", "-f", "-d", "-s", "-h", "-L", "-p", "-S"]) {
    for (const file of files) {
      for (const command of [`test ${operator} ${file}`, `[ ${operator} ${file} ]`]) {
        const fileTest = fileTestOf(command);
        assert.ok(fileTest !== undefined, `${command} is a bare file test`);
        assert.is(fileTest.file, file.replace(/^['"]|['"]$/g, ""), "what it looks at (to watch)");
        assert.is(fileTest(dir), shellSays(command, dir), command);
        answered++;
      }
    }
  }
  assert.ok(answered > 100);
});

test("a path the kernel resolves otherwise than a lexical resolve, or that names the asker, goes to the shell", () => {
  const dir = makeTempDir();
  writeFileSync(path.join(dir, "file"), "x");
  mkdirSync(path.join(dir, "sub"));
  symlinkSync(path.join(dir, "sub"), path.join(dir, "ld"));
  for (const file of ["file", "./file", "sub/../file", `${dir}/ld/../file`, `${dir}/file/`, `${dir}/file/.`, `${dir}//file`, `${dir}/ld/`, "''", "/proc/self/status", "/dev/fd/0", "/dev/stdin"]) {
    for (const command of [`test -e ${file}`, `test -h ${file}`, `[ -f ${file} ]`]) assert.is(fileTestOf(command), undefined, command);
  }
  // Blanks other than space, tab and newline are not sh's word separators.
  assert.is(fileTestOf(`\u00a0test -e ${dir}/file`), undefined);
});

test("the check runs in the process's directory: where that is gone, it fails as sh's cd does", () => {
  const dir = makeTempDir();
  writeFileSync(path.join(dir, "file"), "x");
  const fileTest = fileTestOf(`test -e ${dir}/file`)!;
  assert.is(fileTest(dir), true);
  assert.is(fileTest(path.join(dir, "gone")), false);
  assert.is(fileTest(path.join(dir, "file")), false, "a file is no directory");
});

test("anything with an expansion, an operator or another command goes to the shell", () => {
  for (const command of [
    "test -e $FILE",
    'test -e "$FILE"',
    "test -e /tmp/*",
    "test -e ~/ready",
    "test -e a && echo",
    "test -e a; true",
    "test -e a || true",
    "test -e `x`",
    "test ! -e a",
    "test -e a -a -e b",
    "[ -e a",
    "X=1 test -e a",
    "test -r a",
    "curl -f http://localhost/",
    "test -e a # comment",
    "test -e 'a'b",
    "test -e a[1]",
  ]) {
    assert.is(fileTestOf(command), undefined, command);
  }
});

test.run();
