// examples/webapp for real: the Node web app behind nginx (a self-daemonizing daemon), started by
// `procman switch`, answering through nginx, and gone after `procman stop`. Ports 5000 and 8080
// are fixed by the example, so this file runs its one test alone. Needs /usr/sbin/nginx (skips
// without it, saying so, unless CI=true).
import { readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { listPids, readProcStat } from "../../src/executor/proc.js";
import { procman, show } from "../helpers/cli.js";
import { EXAMPLES } from "../helpers/paths.js";
import { alive, killLeftovers, stateDir as newStateDir, tagged } from "../helpers/processes.js";
import { haveTool } from "../helpers/tools.js";

const NAME = "examples/webapp: switch, GET through nginx, stop";

function portBusy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Live processes in a session (nginx's master and workers; workers drop procman's tag with the rest of the environment). */
function sessionMembers(session: number): number[] {
  return listPids().filter((pid) => {
    const stat = readProcStat(pid);
    return stat !== undefined && stat.state !== "Z" && stat.session === session;
  });
}

test(NAME, async () => {
  if (!haveTool("nginx", NAME, { searchPath: "/usr/sbin" })) return;
  for (const port of [5000, 8080]) assert.not.ok(await portBusy(port), `port ${port} is taken: the example needs it`);
  const dir = newStateDir();
  let nginxSession: number | undefined;
  let webappPid: number | undefined;
  try {
    const switched = await procman(["switch", path.join(EXAMPLES, "webapp", "processes.ts"), "--state-dir", dir], { timeoutMs: 60_000 });
    assert.is(switched.code, 0, show(switched));

    const status = JSON.parse((await procman(["status", "--json", "--state-dir", dir])).stdout) as { processes: { name: string; state: string; pid: number }[] };
    const byName = Object.fromEntries(status.processes.map((entry) => [entry.name, entry]));
    assert.is(byName.webapp?.state, "running");
    assert.is(byName.nginx?.state, "running");
    const masterPid = Number(readFileSync(path.join(dir, "run", "nginx.pid"), "utf8"));
    assert.is(byName.nginx!.pid, masterPid, "nginx is recorded with the PID its PID file names");
    nginxSession = readProcStat(masterPid)!.session;
    webappPid = byName.webapp!.pid;
    assert.ok(sessionMembers(nginxSession).length >= 2, "nginx master and worker");

    const response = await fetch("http://127.0.0.1:8080/");
    assert.is(response.status, 200);
    assert.ok((response.headers.get("server") ?? "").startsWith("nginx"), "the answer came through nginx");
    const body = await response.text();
    assert.match(body, "Hello from webapp");
    assert.match(body, `Served by process ${webappPid} on port 5000`);

    const stopped = await procman(["stop", "--state-dir", dir], { timeoutMs: 60_000 });
    assert.is(stopped.code, 0, show(stopped));
    assert.equal(tagged(dir), [], "a process of the example survived stop");
    assert.equal(sessionMembers(nginxSession), [], "an nginx process survived stop");
    assert.not.ok(alive(webappPid), "webapp survived stop");
    assert.not.ok(await portBusy(8080));
    assert.not.ok(await portBusy(5000));
  } finally {
    await procman(["stop", "--state-dir", dir], { timeoutMs: 60_000 }).catch(() => undefined);
    killLeftovers(dir);
    if (nginxSession !== undefined) {
      for (const pid of sessionMembers(nginxSession)) process.kill(pid, "SIGKILL");
    }
  }
});

test.run();
