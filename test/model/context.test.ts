// The context a model function receives: directories derived from the state dir, and the default
// state dir for root and for other users.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createContext, defaultStateDir } from "../../src/model/context.js";

test("createContext derives runtimeDir, logDir, cacheDir and tmpDir from stateDir", () => {
  assert.equal(createContext({ stateDir: "/home/u/.local/state/procman", modelDir: "/src/app" }), {
    stateDir: "/home/u/.local/state/procman",
    runtimeDir: "/home/u/.local/state/procman/run",
    logDir: "/home/u/.local/state/procman/log",
    cacheDir: "/home/u/.local/state/procman/cache",
    tmpDir: "/home/u/.local/state/procman/tmp",
    forceDisableUserChange: false,
    processManager: "direct",
    modelDir: "/src/app",
  });
});

test("tmpDir is /tmp when stateDir is /var", () => {
  const context = createContext({ stateDir: "/var", modelDir: "/" });
  assert.is(context.tmpDir, "/tmp");
  assert.is(context.runtimeDir, "/var/run");
  assert.is(context.logDir, "/var/log");
  assert.is(context.cacheDir, "/var/cache");
  assert.is(createContext({ stateDir: "/var/", modelDir: "/" }).tmpDir, "/tmp");
  assert.is(createContext({ stateDir: "/var/lib", modelDir: "/" }).tmpDir, "/var/lib/tmp");
});

test("relative directories are made absolute; options are carried; the context is frozen", () => {
  const context = createContext({ stateDir: "state", modelDir: "models", forceDisableUserChange: true, processManager: "systemd" });
  assert.is(context.stateDir, `${process.cwd()}/state`);
  assert.is(context.modelDir, `${process.cwd()}/models`);
  assert.is(context.forceDisableUserChange, true);
  assert.is(context.processManager, "systemd");
  assert.ok(Object.isFrozen(context));
});

test("defaultStateDir: /var for root, whatever XDG_STATE_HOME says", () => {
  assert.is(defaultStateDir({ XDG_STATE_HOME: "/home/root/state" }, 0, "/root"), "/var");
  assert.is(defaultStateDir({}, 0, "/root"), "/var");
});

test("defaultStateDir: $XDG_STATE_HOME/procman for other users when set and absolute", () => {
  assert.is(defaultStateDir({ XDG_STATE_HOME: "/xdg/state" }, 1000, "/home/u"), "/xdg/state/procman");
});

test("defaultStateDir: ~/.local/state/procman otherwise (unset, empty or relative XDG_STATE_HOME)", () => {
  assert.is(defaultStateDir({}, 1000, "/home/u"), "/home/u/.local/state/procman");
  assert.is(defaultStateDir({ XDG_STATE_HOME: "" }, 1000, "/home/u"), "/home/u/.local/state/procman");
  assert.is(defaultStateDir({ XDG_STATE_HOME: "rel/state" }, 1000, "/home/u"), "/home/u/.local/state/procman");
});

test.run();
