// The trust boundary through the CLI: what a process leaves behind goes with it (setsid'd and
// double-forked children, a daemon's workers), a lying PID file fails the switch without a signal
// to what it names, someone else's listener is never a process's readiness, a paused process is
// stopped by its stop signal, and a failure shows only this run's log. Build first: `npx tsc -p .`.
import net from "node:net";
import path from "node:path";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { show, type CliRun } from "../helpers/cli.js";
import { DAEMON, NODE, alive, freePort, lineIn, readEvents, service, tagged, unrelatedProcess, waitFor, writeJson } from "../helpers/processes.js";
import { ok, run, scenario } from "../helpers/scenario.js";
import { haveTool } from "../helpers/tools.js";
import { readProcStat } from "../../src/executor/proc.js";

const LIAR = path.join(path.dirname(DAEMON), "liar-daemon.sh");

function switchTo(dir: string, model: string): Promise<CliRun> {
  return run(["switch", model, "--state-dir", dir]);
}

test("stop: a child that called setsid() and a daemon's worker in a session of its own are stopped with their process", async () => {
  await scenario(async (dir, files) => {
    const workerFile = path.join(files, "worker");
    const childFile = path.join(files, "child");
    const model = writeJson(path.join(files, "m.json"), {
      fg: { foregroundProcess: "/bin/sh", args: ["-c", `setsid sleep 100000 & echo $! > ${childFile}; exec sleep 100000`] },
      dm: { daemon: LIAR, pidFile: path.join(files, "dm.pid"), environment: { LIE: "worker", DAEMON_PID_FILE: path.join(files, "dm.pid"), DAEMON_WORKER_FILE: workerFile, NODE, NAME: "dm" } },
    });
    const result = await switchTo(dir, model);
    assert.is(result.code, 0, show(result));
    const child = Number(await lineIn(childFile, 5000));
    const worker = Number(readFileSync(workerFile, "utf8"));
    assert.ok(alive(child) && alive(worker));
    const stop = await run(["stop", "--state-dir", dir]);
    assert.is(stop.code, 0, show(stop));
    assert.not.ok(alive(child), "the setsid'd child survived stop");
    assert.not.ok(alive(worker), "the daemon's worker survived stop");
    assert.equal(tagged(dir), []);
  });
});

test("a double-forking foreground process that exits fails the switch; what it forked is stopped with the undo", async () => {
  await scenario(async (dir, files) => {
    const model = writeJson(path.join(files, "m.json"), {
      forker: { foregroundProcess: "/bin/sh", args: ["-c", "(sleep 100000 &); (setsid sleep 100000 &); sleep 0.05; exit 3"], readiness: { command: "false", timeout: 5 } },
    });
    const result = await switchTo(dir, model);
    assert.is(result.code, 1, show(result));
    assert.match(result.stderr, "forker: exited with code 3 before it was ready");
    assert.equal(tagged(dir), [], "the double-forked children run on untracked");
  });
});

test("a second switch whose new process forks into a session of its own and fails: the undo stops what it forked, the first generation runs on", async () => {
  await scenario(async (dir, files) => {
    const events = path.join(files, "events.jsonl");
    const first = writeJson(path.join(files, "m1.json"), { keep: service("keep", events) });
    assert.is((await switchTo(dir, first)).code, 0);
    const childFile = path.join(files, "child");
    const second = writeJson(path.join(files, "m2.json"), {
      keep: service("keep", events),
      forker: { foregroundProcess: "/bin/sh", args: ["-c", `setsid sleep 100000 & echo $! > ${childFile}; exec sleep 100000`], readiness: { command: "false", timeout: 1 } },
    });
    const result = await switchTo(dir, second);
    assert.is(result.code, 1, show(result));
    const child = Number(await lineIn(childFile, 5_000));
    assert.ok(child > 0, "the forker wrote its child's PID");
    assert.not.ok(alive(child), "the undo left the setsid'd child running");
    assert.equal(tagged(dir).map((entry) => entry.name), ["keep"]);
  });
});

test("a daemon whose PID file says 1: the switch fails naming the PID file and the PID, and nothing is left", async () => {
  await scenario(async (dir, files) => {
    const pidFile = path.join(files, "liar.pid");
    const sleeper = unrelatedProcess();
    try {
      for (const lie of ["1", String(sleeper.pid)]) {
        const model = writeJson(path.join(files, "m.json"), { liar: { daemon: LIAR, pidFile, environment: { LIE: `pid:${lie}`, DAEMON_PID_FILE: pidFile, NODE, NAME: "liar" } } });
        const result = await switchTo(dir, model);
        assert.is(result.code, 1, show(result));
        assert.match(result.stderr, `${pidFile} names PID ${lie}, which`);
        assert.equal(tagged(dir), []);
        const status = await run(["status", "--json", "--state-dir", dir]);
        assert.not.match(status.stdout, `"pid": ${lie}`);
      }
      assert.ok(alive(sleeper.pid));
    } finally {
      sleeper.stop();
    }
  });
});

test("tcp readiness with the port already taken by another listener: the process is never ready, its dependent never starts", async () => {
  const port = await freePort();
  const server = net.createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  try {
    await scenario(async (dir, files) => {
      const events = path.join(files, "events.jsonl");
      const model = writeJson(path.join(files, "m.json"), {
        web: service("web", events, { TCP_PORT: String(port) }, { readiness: { tcp: { port }, timeout: 3 } }),
        proxy: service("proxy", events, {}, { activatesAfter: ["web"] }),
      });
      const result = await switchTo(dir, model);
      assert.is(result.code, 1, show(result));
      assert.match(result.stderr, /web: (exited with code 1 before it was ready|waiting for TCP 127\.0\.0\.1:[0-9]+ to accept connections on a socket of its own)/);
      assert.not.ok(readEvents(events).some((event) => event.name === "proxy"), "the dependent started on someone else's listener");
    });
  } finally {
    server.close();
  }
});

test("a paused (SIGSTOP) process is stopped by its stop signal (SIGCONT follows it), not by SIGKILL after the timeout", async () => {
  await scenario(async (dir, files) => {
    const events = path.join(files, "events.jsonl");
    const model = writeJson(path.join(files, "m.json"), { svc: service("svc", events, {}, { stop: { timeout: 30 } }) });
    assert.is((await switchTo(dir, model)).code, 0);
    const pid = (await waitFor(() => readEvents(events)[0], 5000, "the service's start")).pid;
    process.kill(pid, "SIGSTOP");
    const status = await run(["status", "--json", "--state-dir", dir]);
    assert.match(status.stdout, /"state": "paused"/);
    const began = Date.now();
    const stop = await run(["stop", "--state-dir", dir]);
    assert.is(stop.code, 0, show(stop));
    assert.ok(Date.now() - began < 20_000, `stop took ${Date.now() - began} ms: waited for the timeout`);
    assert.ok(readEvents(events).some((event) => event.event === "term"), "it never saw SIGTERM");
  });
});

test("a failed start shows only this run's part of the log", async () => {
  await scenario(async (dir, files) => {
    const logDir = path.join(dir, "log");
    mkdirSync(logDir, { recursive: true });
    writeFileSync(path.join(logDir, "svc.log"), "OLD RUN LINE\n");
    const model = writeJson(path.join(files, "m.json"), { svc: { foregroundProcess: "/bin/sh", args: ["-c", "echo this run; exit 2"], readiness: { command: "false", timeout: 5 } } });
    const result = await switchTo(dir, model);
    assert.is(result.code, 1, show(result));
    assert.match(result.stderr, "this run");
    assert.not.match(result.stderr, "OLD RUN LINE");
  });
});

test("readiness notify and file through switch: each gates its dependent; a file left from before does not count; the notifier writes on after procman is gone", async () => {
  await scenario(async (dir, files) => {
    const events = path.join(files, "events.jsonl");
    const readyFile = path.join(files, "ready");
    writeFileSync(readyFile, "from an earlier run\n");
    const mark = (name: string) => `echo '{"name":"${name}","event":"ready","pid":'$$',"t":0}' >> ${events}`;
    const more = path.join(files, "more");
    const wrote = path.join(files, "wrote");
    const model = writeJson(path.join(files, "m.json"), {
      notifier: {
        foregroundProcess: "/bin/sh",
        args: ["-c", `sleep 0.3; ${mark("notifier")}; echo ready >&3; while [ ! -e ${more} ]; do sleep 0.05; done; i=0; while [ $i -lt 1000 ]; do echo more >&3; i=$((i+1)); done; echo > ${wrote}; exec sleep 100000`],
        readiness: { notify: 3, timeout: 10 },
      },
      filer: { foregroundProcess: "/bin/sh", args: ["-c", `sleep 0.3; ${mark("filer")}; echo > ${readyFile}; exec sleep 100000`], readiness: { file: readyFile, timeout: 10 } },
      dependent: service("dependent", events, {}, { activatesAfter: ["notifier", "filer"] }),
    });
    const result = await switchTo(dir, model);
    assert.is(result.code, 0, show(result));
    await waitFor(() => readEvents(events).some((event) => event.name === "dependent"), 5000, "the dependent's start");
    const order = readEvents(events).map((event) => event.name);
    assert.ok(order.indexOf("dependent") > order.indexOf("notifier") && order.indexOf("dependent") > order.indexOf("filer"), order.join(", "));
    assert.ok(order.includes("notifier") && order.includes("filer"), order.join(", "));
    // procman has exited: nobody reads the notification FIFO now.
    writeFileSync(more, "");
    await waitFor(() => existsSync(wrote), 10_000, "the writes after procman left");
    const status = await run(["status", "--json", "--state-dir", dir]);
    assert.is(status.code, 0, show(status));
    assert.not.match(status.stdout, /"state": "(dead|not-ready)"/);
  });
});

test("tcp owned: false through switch: a listener that is not the process's own (a proxy) makes it ready", async () => {
  const port = await freePort();
  const server = net.createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  try {
    await scenario(async (dir, files) => {
      const model = writeJson(path.join(files, "m.json"), { front: { foregroundProcess: "/bin/sh", args: ["-c", "exec sleep 100000"], readiness: { tcp: { port, owned: false }, timeout: 3 } } });
      const result = await switchTo(dir, model);
      assert.is(result.code, 0, show(result));
    });
  } finally {
    server.close();
  }
});

// A review's process exited its main thread and ran on in another: /proc shows its leader as a
// zombie, and procman took it for dead — status said dead, a second switch started a duplicate,
// stop left both running.
test("a process whose main thread exited while another runs on: running, not started twice, stopped", async () => {
  if (!haveTool("python3", "main thread exits")) return;
  await scenario(async (dir, files) => {
    const beats = path.join(files, "beats");
    const model = writeJson(path.join(files, "m.json"), {
      half: { process: "python3", args: [path.join(path.dirname(DAEMON), "main-thread-exits.py"), beats], restart: "no" },
    });
    ok(await switchTo(dir, model));
    const [pid] = tagged(dir).map((entry) => entry.pid);
    assert.ok(pid !== undefined, "nothing runs");
    await waitFor(() => {
      const stat = readProcStat(pid!);
      return stat?.state === "Z" && stat.threads > 1;
    }, 10_000, "its leader a zombie with a live thread");
    const status = await run(["status", "--json", "--state-dir", dir]);
    assert.is(status.code, 0, show(status));
    assert.is((JSON.parse(status.stdout) as { processes: { state: string }[] }).processes[0]?.state, "running");
    const again = await switchTo(dir, model);
    assert.is(again.code, 0, show(again));
    assert.equal(tagged(dir).map((entry) => entry.pid), [pid], "a second instance was started");
    ok(await run(["stop", "--state-dir", dir]));
    const after = readProcStat(pid!);
    assert.ok(after === undefined || (after.state === "Z" && after.threads <= 1), `still alive after stop: ${JSON.stringify(after)}`);
    assert.equal(tagged(dir), []);
  });
});

test.run();
