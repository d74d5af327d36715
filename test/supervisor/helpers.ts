// Shared by the supervisor tests: real processes deployed the way the transaction will do it, through
// the client (pause, spawn as the supervisor's child, record, wait for readiness, resume).
import { readFileSync, existsSync } from "node:fs";
import path from "node:path";
import { createContext } from "../../src/model/context.js";
import type { Liveness, ResolvedModel, ResolvedProcess, RestartSettings } from "../../src/model/types.js";
import { specHash } from "../../src/plan/spec-hash.js";
import { resolveModel } from "../../src/resolve-model.js";
import { StateDir, type ProcessRecord } from "../../src/executor/state-dir.js";
import { waitUntilReady } from "../../src/executor/readiness.js";
import { startSupervisor, supervisorStatus, type SupervisorClient } from "../../src/supervisor/client.js";
import { readSupervision, type SupervisionStatus } from "../../src/supervisor/status-file.js";
import { NODE, bin, stateDir, waitFor } from "../helpers/processes.js";

export const FLAKY = bin("flaky.mjs");
export const NUMBERED = bin("numbered.mjs");

export interface Extra {
  restart?: Partial<RestartSettings> & { policy?: RestartSettings["policy"] };
  liveness?: Liveness;
  log?: { maxSize: number; keep: number };
  onFailure?: string;
  readiness?: ResolvedProcess["readiness"];
  stop?: Partial<ResolvedProcess["stop"]>;
}

/** A resolved process running `script` with env (resolved by the model code, then the supervision fields set directly). */
export function processSpec(dir: string, name: string, env: Record<string, string>, extra: Extra = {}, script = FLAKY): ResolvedProcess {
  const context = createContext({ stateDir: dir, modelDir: dir });
  const model = resolveModel({ [name]: { foregroundProcess: NODE, args: [script], environment: { NAME: name, ...env } } }, context, { nameMustMatchKey: false });
  const base = model.processes[0]!;
  return {
    ...base,
    restart: { policy: "on-failure", delay: 0.05, maxDelay: 1, limit: { burst: 5, interval: 60 }, ...extra.restart, ...(extra.restart?.limit ? { limit: extra.restart.limit } : {}) },
    liveness: extra.liveness,
    log: extra.log ?? base.log,
    onFailure: extra.onFailure,
    readiness: extra.readiness ?? base.readiness,
    stop: { ...base.stop, ...extra.stop },
  };
}

/** Deploys `specs` as a generation through the supervisor, as the transaction does. */
export async function deploy(dir: string, specs: readonly ResolvedProcess[], client: SupervisorClient): Promise<Map<string, ProcessRecord>> {
  const state = new StateDir(dir);
  state.ensure();
  await client.pause();
  const model: ResolvedModel = { context: createContext({ stateDir: dir, modelDir: dir }), processes: specs };
  const records = new Map<string, ProcessRecord>();
  for (const spec of specs) {
    const hash = specHash(spec);
    const launched = await client.spawn(spec, hash);
    const record: ProcessRecord = {
      name: spec.name,
      pid: launched.pid,
      startTime: launched.startTime,
      mode: spec.mode,
      specHash: hash,
      pidFile: spec.pidFile,
      stopSignal: spec.stop.signal,
      stopTimeout: spec.stop.timeout,
      startedAt: new Date().toISOString(),
    };
    state.writeRecord(record);
    records.set(spec.name, record);
    await waitUntilReady(spec, record, launched.logOffset);
  }
  const generation = state.writeGeneration(model, "direct", undefined);
  state.setCurrent({ generation, active: true });
  await client.resume();
  return records;
}

export function supervision(dir: string, name: string): SupervisionStatus | undefined {
  return readSupervision(dir).get(name);
}

export function waitSupervision(dir: string, name: string, what: string, predicate: (status: SupervisionStatus) => boolean, ms = 15_000): Promise<SupervisionStatus> {
  return waitFor(() => {
    const status = supervision(dir, name);
    return status !== undefined && predicate(status) ? status : undefined;
  }, ms, `${name}: ${what} (status now: ${JSON.stringify(supervision(dir, name))})`);
}

export interface FlakyEvent {
  readonly name: string;
  readonly event: "start" | "ready" | "exit" | "term";
  readonly pid: number;
  readonly t: number;
  readonly attempt: number;
}

export function flakyEvents(file: string): FlakyEvent[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8").split("\n").filter((line) => line !== "").map((line) => JSON.parse(line) as FlakyEvent);
}

export function starts(file: string, name?: string): FlakyEvent[] {
  return flakyEvents(file).filter((event) => event.event === "start" && (name === undefined || event.name === name));
}

export function recordOf(dir: string, name: string): ProcessRecord | undefined {
  return new StateDir(dir).readRecords().get(name);
}

export const eventsFile = (dir: string) => path.join(dir, "events.jsonl");

/** Stops everything as `procman stop` will: pause, announce, stop, remove records, end the supervisor. */
export async function teardown(dir: string, client: SupervisorClient | undefined): Promise<void> {
  const { terminate } = await import("../../src/executor/terminate.js");
  const { tagFor } = await import("../../src/executor/launch.js");
  const state = new StateDir(dir);
  try {
    if (client !== undefined) {
      await client.pause();
      await client.expectStop([...state.readRecords().keys()]);
    }
    for (const record of state.readRecords().values()) {
      await terminate({ ...record, tag: tagFor(record.name, record.specHash, dir) });
      state.removeRecord(record.name);
    }
    const current = state.readCurrent();
    if (current !== undefined) state.setCurrent({ ...current, active: false });
    if (client !== undefined) await client.shutdown();
  } finally {
    const { killLeftovers } = await import("../helpers/processes.js");
    killLeftovers(dir);
  }
}

/** A fresh state dir with a supervisor (paused until resumed), torn down after `run`. */
export async function withSupervisor(run: (dir: string, client: SupervisorClient) => Promise<void>): Promise<void> {
  const dir = stateDir();
  let client: SupervisorClient | undefined;
  try {
    client = await startSupervisor(dir);
    await run(dir, client);
  } finally {
    await teardown(dir, client);
  }
  if (supervisorStatus(dir).running) throw new Error("the supervisor is still running after its shutdown");
}
