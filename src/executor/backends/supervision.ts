// The direct backend's link to the supervisor of its state dir (src/supervisor). During a
// transaction the supervisor is paused (nothing of its own in flight); what the transaction starts
// is spawned through it, so that it is the parent and learns each exit status; what it stops is
// announced first, so that the exit is no failure. Afterwards it re-reads the generation, or ends
// when nothing is to be supervised any more. Resumed, it looks at every process at once; what it
// decides then (a process that died during the transaction) is the transaction's to report.
import type { ResolvedProcess } from "../../model/types.js";
import type { Launched } from "../launch.js";
import type { SupervisorClient } from "../../supervisor/client.js";
import type { HandoverEvent } from "../../supervisor/protocol.js";
import type { SupervisorDecision } from "../events.js";

export class SupervisorLink {
  private client: SupervisorClient | undefined;
  private starting: Promise<SupervisorClient> | undefined;
  private startedNow = false;

  constructor(private readonly stateDir: string) {}

  /** Under the lock, before anything is observed: a running supervisor is paused. */
  async begin(): Promise<void> {
    const { connectSupervisor } = await import("../../supervisor/client.js");
    this.client = await connectSupervisor(this.stateDir);
    await this.client?.pause();
  }

  /** A supervisor to spawn through (started, paused, when none runs). */
  async ensure(): Promise<SupervisorClient> {
    if (this.client !== undefined) return this.client;
    // Independent processes start in parallel: one supervisor for all of them.
    this.starting ??= (async () => {
      const { startSupervisor } = await import("../../supervisor/client.js");
      const client = await startSupervisor(this.stateDir);
      this.client = client;
      this.startedNow = true;
      return client;
    })();
    return this.starting;
  }

  get running(): boolean {
    return this.client !== undefined;
  }

  /** The supervisor's own PID: a daemon's PID file may never name it. */
  get pid(): number | undefined {
    return this.client?.pid;
  }

  spawn(spec: ResolvedProcess, hash: string): Promise<Launched> {
    return this.client!.spawn(spec, hash);
  }

  async expectStop(names: readonly string[], operator: boolean): Promise<void> {
    await this.client?.expectStop(names, operator);
  }

  /**
   * After the transaction. `supervise`: what is deployed now wants a supervisor (it is started if
   * none runs, and resumed to read the new generation); otherwise one that runs is ended.
   * Resolves with what the supervisor decided as it took over.
   */
  async finish(supervise: boolean): Promise<SupervisorDecision[]> {
    let decisions: SupervisorDecision[] = [];
    if (supervise) {
      const client = await this.ensure();
      decisions = (await client.resume()).map(asDecision);
    } else if (this.client !== undefined) {
      await this.client.shutdown();
      this.client = undefined;
    }
    this.close();
    return decisions;
  }

  /** After a failed transaction: back to what it did before (a supervisor started for it ends). */
  async abandon(): Promise<void> {
    if (this.client === undefined) return;
    if (this.startedNow) await this.client.shutdown().catch(() => undefined);
    else await this.client.resume().catch(() => undefined);
    this.close();
  }

  async shutdown(): Promise<void> {
    if (this.client === undefined) return;
    await this.client.shutdown();
    this.client = undefined;
  }

  private close(): void {
    this.client?.close();
  }
}

/** A supervisor's event as the transaction reports it: the same fields, marked as the supervisor's. */
function asDecision(event: HandoverEvent): SupervisorDecision {
  switch (event.type) {
    case "restarting": return { type: "restarting", source: "supervisor", name: event.name, attempt: event.attempt };
    case "backoff": return { type: "backoff", source: "supervisor", name: event.name, delayMs: event.delayMs, nextRestartAt: event.nextRestartAt };
    case "failed": return { type: "failed", source: "supervisor", name: event.name, message: event.message };
    case "unhealthy": return { type: "unhealthy", source: "supervisor", name: event.name, failures: event.failures };
  }
}
