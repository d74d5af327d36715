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
import type { SupervisionMode } from "../backend.js";

export class SupervisorLink {
  private client: SupervisorClient | undefined;
  private starting: Promise<SupervisorClient> | undefined;
  private startedNow = false;

  /**
   * `startForeground`: `procman up`, whose own process is to supervise. It starts that in-process
   * supervisor (paused, on the control socket) when the first process must be spawned, so that the
   * supervisor is the parent of what the switch starts and knows every exit status.
   */
  constructor(
    private readonly stateDir: string,
    private readonly startForeground?: () => Promise<void>,
  ) {}

  /** Under the lock, before anything is observed: a running supervisor is paused. */
  async begin(): Promise<void> {
    const { connectSupervisor } = await import("../../supervisor/client.js");
    this.client = await connectSupervisor(this.stateDir);
    if (this.client !== undefined && this.startForeground !== undefined && this.client.pid !== process.pid) {
      // procman up supervises itself: a detached supervisor gives way (its processes run on and
      // are adopted; the lock is held, so nothing races this).
      await this.client.shutdown();
      this.client = undefined;
      return;
    }
    await this.client?.pause();
  }

  /** A supervisor to spawn through (started, paused, when none runs). */
  async ensure(): Promise<SupervisorClient> {
    if (this.client !== undefined) return this.client;
    // Independent processes start in parallel: one supervisor for all of them.
    this.starting ??= (async () => {
      const { connectSupervisor, startSupervisor, SupervisorError } = await import("../../supervisor/client.js");
      let client: SupervisorClient | undefined;
      if (this.startForeground === undefined) {
        try {
          client = await startSupervisor(this.stateDir);
        } catch (error) {
          // One began before begin() could see it (a killed command had just started it, and it
          // wrote its PID file since): the lock is ours, so it is this command's to pause and use.
          if (!(error instanceof SupervisorError) || error.code !== "ESUPERVISING") throw error;
          const running = await connectSupervisor(this.stateDir);
          if (running === undefined) throw error;
          await running.pause();
          this.client = running;
          return running;
        }
      } else {
        await this.startForeground();
        client = await connectSupervisor(this.stateDir);
        if (client === undefined) throw new SupervisorError("procman up's own supervisor does not answer on its socket", "ESUPERVISOR");
      }
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
   * After the transaction. "detached": what is deployed now wants a supervisor (it is started if
   * none runs, and resumed to read the new generation); "foreground": procman up's own one, if the
   * switch started it, is resumed (else up starts it now); "none": one that runs is ended.
   * Resolves with what the supervisor decided as it took over.
   */
  async finish(supervise: SupervisionMode): Promise<SupervisorDecision[]> {
    let decisions: SupervisorDecision[] = [];
    if (supervise === "foreground") decisions = ((await this.client?.resume()) ?? []).map(asDecision);
    else if (supervise === "detached") {
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
