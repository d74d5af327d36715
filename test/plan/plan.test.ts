// planSwitch and specHash: pure. What stops, starts, stays and is forgotten, in which order, and why.
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { ResolvedModel } from "../../src/model/types.js";
import { planSwitch, type ObservedProcess, type Plan } from "../../src/plan/plan.js";
import { changedFields } from "../../src/plan/changed-fields.js";
import { specHash } from "../../src/plan/spec-hash.js";
import { resolve } from "../helpers/model.js";

const proc = (fields: Record<string, unknown> = {}) => ({ process: "/bin/sleep", args: ["100"], ...fields });

/** db <- app <- web, and cache on its own. */
function stack(change: Record<string, Record<string, unknown>> = {}, drop: string[] = []): ResolvedModel {
  const all: Record<string, Record<string, unknown>> = {
    db: proc(change.db),
    cache: proc(change.cache),
    app: proc({ activatesAfter: ["db"], ...change.app }),
    web: proc({ activatesAfter: ["app"], ...change.web }),
  };
  for (const name of drop) delete all[name];
  return resolve(all);
}

/** Everything of `model` observed as running with the hash it declares, unless overridden. */
function running(model: ResolvedModel, states: Record<string, ObservedProcess["state"] | "absent"> = {}): Map<string, ObservedProcess> {
  const observed = new Map<string, ObservedProcess>();
  for (const spec of model.processes) {
    const state = states[spec.name] ?? "running";
    if (state !== "absent") observed.set(spec.name, { name: spec.name, specHash: specHash(spec), state });
  }
  return observed;
}

const names = (steps: Plan["stop"]) => steps.map((step) => step.name);
const reasons = (steps: Plan["stop"]) => Object.fromEntries(steps.map((step) => [step.name, step.reason]));
const NEW = { kind: "new" } as const;

test("first switch: everything new, started dependencies first; nothing stopped", () => {
  const model = stack();
  const plan = planSwitch(model, new Map(), undefined);
  assert.equal(names(plan.start), ["db", "cache", "app", "web"]);
  assert.equal(reasons(plan.start), { db: NEW, cache: NEW, app: NEW, web: NEW });
  assert.equal(plan.stop, []);
  assert.equal(plan.keep, []);
  assert.equal(plan.forget, []);
});

test("the same model again while everything runs: all kept, nothing started or stopped", () => {
  const model = stack();
  const plan = planSwitch(model, running(model), model);
  assert.equal(plan.start, []);
  assert.equal(plan.stop, []);
  assert.equal(names(plan.keep), ["db", "cache", "app", "web"]);
  assert.ok(plan.keep.every((step) => step.reason.kind === "unchanged"));
});

test("a changed environment restarts that process and its transitive dependents only", () => {
  const before = stack();
  const after = stack({ db: { environment: { MODE: "fast" } } });
  const plan = planSwitch(after, running(before), before);
  assert.equal(names(plan.stop), ["web", "app", "db"], "dependents stop first");
  assert.equal(names(plan.start), ["db", "app", "web"], "dependencies start first");
  assert.equal(names(plan.keep), ["cache"]);
  assert.equal(reasons(plan.stop).db, { kind: "changed", fields: ["environment"] });
  assert.equal(reasons(plan.stop).app, { kind: "dependency-changed", causes: ["db"] });
  assert.equal(reasons(plan.start).web, { kind: "dependency-changed", causes: ["db"] });
  assert.equal(plan.stopEdges, [
    { name: "db", activatesAfter: [] },
    { name: "app", activatesAfter: ["db"] },
    { name: "web", activatesAfter: ["app"] },
  ]);
});

test("a change in the middle of the chain leaves what it depends on alone", () => {
  const before = stack();
  const after = stack({ app: { args: ["200"] } });
  const plan = planSwitch(after, running(before), before);
  assert.equal(names(plan.stop), ["web", "app"]);
  assert.equal(names(plan.start), ["app", "web"]);
  assert.equal(names(plan.keep), ["db", "cache"]);
  assert.equal(reasons(plan.stop).app, { kind: "changed", fields: ["args"] }, "named as the model writes it");
});

test("fields that do not change how a process runs do not restart it", () => {
  const before = stack({ db: { readiness: { command: "true" } } });
  const after = stack({
    db: {
      description: "the database",
      readiness: { command: "true", timeout: 3, interval: 0.5 },
      stop: { timeout: 2 },
      restart: { policy: "always", delay: 3, limit: { burst: 2 } },
      liveness: { command: "true" },
      log: { maxSize: "1M", keep: 1 },
      onFailure: "logger failed",
      overrides: { systemd: { Service: { LimitNOFILE: 1024 } } },
    },
  });
  const plan = planSwitch(after, running(before), before);
  assert.equal(plan.stop, []);
  assert.equal(plan.start, []);
  assert.is(specHash(before.processes[0]!), specHash(after.processes[0]!));
});

test("a changed readiness check restarts the process and its dependents (it was never verified against it)", () => {
  const before = stack();
  const after = stack({ app: { readiness: { tcp: { port: 8080 } } } });
  const plan = planSwitch(after, running(before), before);
  assert.equal(names(plan.stop), ["web", "app"]);
  assert.equal(reasons(plan.stop).app, { kind: "changed", fields: ["readiness"] });
  assert.equal(reasons(plan.start).web, { kind: "dependency-changed", causes: ["app"] });
});

test("a dependent of two changed processes names both as its causes", () => {
  const before = stack();
  const after = stack({ db: { args: ["1"] }, app: { environment: { A: "1" } } });
  const plan = planSwitch(after, running(before), before);
  assert.equal(reasons(plan.stop).web, { kind: "dependency-changed", causes: ["db", "app"] });
  assert.equal(reasons(plan.stop).app, { kind: "changed", fields: ["environment"] });
});

test("a manager whose generated files changed for a setting names that setting", () => {
  const before = stack();
  const after = stack({ cache: { restart: "always" } });
  // As a generator-backed manager compares: everything it writes, restart settings included.
  const hashOf = (spec: (typeof after.processes)[number]) => `${specHash(spec)}/${spec.restart.policy}`;
  const observed = new Map([...running(before)].map(([name, seen]) => [name, { ...seen, specHash: hashOf(before.processes.find((p) => p.name === name)!) }]));
  const plan = planSwitch(after, observed, before, hashOf);
  assert.equal(plan.stop, [{ name: "cache", reason: { kind: "changed", fields: ["restart"] } }]);
});

test("a removed process is stopped (and nothing else is)", () => {
  const before = stack();
  const after = stack({}, ["web"]);
  const plan = planSwitch(after, running(before), before);
  assert.equal(plan.stop, [{ name: "web", reason: { kind: "removed" } }]);
  assert.equal(plan.start, []);
  assert.equal(names(plan.keep), ["db", "cache", "app"]);
});

test("removing a dependency together with its dependents stops the dependents first", () => {
  const before = stack();
  const after = stack({}, ["db", "app", "web"]);
  const plan = planSwitch(after, running(before), before);
  assert.equal(names(plan.stop), ["web", "app", "db"]);
});

test("the empty model (procman stop) stops everything, dependents first", () => {
  const before = stack();
  const plan = planSwitch({ context: before.context, processes: [] }, running(before), before);
  const order = names(plan.stop);
  assert.equal(order.length, 4);
  assert.ok(order.indexOf("web") < order.indexOf("app") && order.indexOf("app") < order.indexOf("db"), order.join(","));
  assert.ok(plan.stop.every((step) => step.reason.kind === "stop-all"));
});

test("a dead process is forgotten (no signal) and started again; a reused PID is left alone", () => {
  const model = stack();
  const plan = planSwitch(model, running(model, { db: "dead", cache: "reused" }), model);
  assert.equal(reasons(plan.forget), { db: { kind: "died" }, cache: { kind: "pid-reused" } });
  assert.equal(plan.stop, [], "neither is signalled");
  assert.equal(reasons(plan.start), { db: { kind: "died" }, cache: { kind: "pid-reused" } });
  assert.equal(names(plan.keep), ["app", "web"], "an unchanged dead dependency does not restart its dependents");
});

test("a declared process without a record (an interrupted switch) is started again", () => {
  const model = stack();
  const plan = planSwitch(model, running(model, { app: "absent" }), model);
  assert.equal(plan.start, [{ name: "app", reason: { kind: "not-running" } }]);
  assert.equal(names(plan.keep), ["db", "cache", "web"]);
});

test("a process that died and changed restarts its running dependents too", () => {
  const before = stack();
  const after = stack({ db: { environment: { MODE: "fast" } } });
  const plan = planSwitch(after, running(before, { db: "dead" }), before);
  assert.equal(names(plan.forget), ["db"]);
  assert.equal(names(plan.stop), ["web", "app"]);
  assert.equal(names(plan.start), ["db", "app", "web"]);
  assert.equal(names(plan.keep), ["cache"]);
});

test("a record left from an older generation (not in the previous model) is stopped as removed", () => {
  const model = stack({}, ["cache"]);
  const leftover = stack();
  const plan = planSwitch(model, running(leftover), model);
  assert.equal(plan.stop, [{ name: "cache", reason: { kind: "removed" } }]);
  assert.equal(plan.stopEdges, [{ name: "cache", activatesAfter: [] }]);
});

test("specHash: stable under key order, sensitive to every field that changes how a process runs", () => {
  const a = resolve({ p: proc({ environment: { A: "1", B: "2" } }) }).processes[0]!;
  const b = resolve({ p: proc({ environment: { B: "2", A: "1" } }) }).processes[0]!;
  assert.is(specHash(a), specHash(b));
  assert.match(specHash(a), /^[0-9a-f]{32}$/);
  const variants: Record<string, Record<string, unknown>> = {
    environment: { environment: { A: "1", B: "3" } },
    path: { environment: { A: "1", B: "2" }, path: ["/opt/bin"] },
    directory: { environment: { A: "1", B: "2" }, directory: "/srv" },
    umask: { environment: { A: "1", B: "2" }, umask: "077" },
    nice: { environment: { A: "1", B: "2" }, nice: 3 },
    initialize: { environment: { A: "1", B: "2" }, initialize: "mkdir -p /tmp/x" },
    args: { environment: { A: "1", B: "2" }, args: ["101"] },
    foregroundProcess: { environment: { A: "1", B: "2" }, process: "/bin/sleep2" },
    pidFile: { environment: { A: "1", B: "2" }, pidFile: "/run/p.pid" },
    user: { environment: { A: "1", B: "2" }, user: "nobody" },
    readiness: { environment: { A: "1", B: "2" }, readiness: { tcp: { port: 80 } } },
    stateDirectory: { environment: { A: "1", B: "2" }, stateDirectory: "p" },
    runtimeDirectory: { environment: { A: "1", B: "2" }, runtimeDirectory: "p" },
  };
  for (const [field, fields] of Object.entries(variants)) {
    const changed = resolve({ p: proc(fields) }).processes[0]!;
    assert.is.not(specHash(changed), specHash(a), field);
    assert.equal(changedFields(a, changed), [field]);
  }
});

test.run();
