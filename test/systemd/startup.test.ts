// procman startup against a real systemd (PID 1 of a systemd-nspawn container, never the host's):
// `--install` puts the unit into the container's /etc and enables it; after a simulated power loss
// (the supervisor and every process killed), starting the unit — the job the boot runs — brings
// the deployment and its supervisor back, and they stay up after the oneshot's ExecStart returned;
// stopping it runs procman stop.
import * as assert from "uvu/assert";
import { containerSuite, dirsFor, procmanInside, property, systemctl, waitFor, writeModel } from "./support.js";
import type { Container } from "../helpers/nspawn.js";

const { test, host } = containerSuite("systemd: procman startup");
const UNIT = "procman-startup.service";

interface StatusJson {
  supervisor: { running: boolean; pid: number | null };
  processes: { name: string; state: string; pid: number | null }[];
}

async function statusOf(container: Container, stateDir: string): Promise<StatusJson> {
  const result = await procmanInside(container, ["status", "--json", "--state-dir", stateDir]);
  return JSON.parse(result.stdout) as StatusJson;
}

async function alive(container: Container, pid: number): Promise<boolean> {
  const result = await container.exec(["/bin/sh", "-c", `[ -e /proc/${pid} ] && ! grep -q '^State:[[:space:]]*Z' /proc/${pid}/status`]);
  return result.code === 0;
}

test("--install enables the unit; starting it after a power loss brings the deployment and its supervisor back; stopping it stops them", async () => {
  const container = host.use();
  if (container === undefined) return;
  const dirs = dirsFor(host, "startup");
  const model = writeModel(dirs, {
    web: { foregroundProcess: "/bin/sleep", args: ["400001"], restart: "on-failure", stop: { timeout: 2 } },
    worker: { foregroundProcess: "/bin/sleep", args: ["400002"], restart: "no", activatesAfter: ["web"], stop: { timeout: 2 } },
  });
  const deployed = await procmanInside(container, ["switch", model, "--state-dir", dirs.state]);
  assert.is(deployed.code, 0, deployed.stderr);
  try {
    const installed = await procmanInside(container, ["startup", "-P", "systemd", "--state-dir", dirs.state, "--install"]);
    assert.is(installed.code, 0, `${installed.stdout}\n${installed.stderr}`);
    assert.match(installed.stdout, `installed /etc/systemd/system/${UNIT}`);
    assert.is((await systemctl(container, "is-enabled", UNIT)).stdout.trim(), "enabled");
    assert.is(await property(container, UNIT, "WantedBy"), "multi-user.target");

    // Power loss: the supervisor first (it would restart web), then every process. All started by this test.
    const before = await statusOf(container, dirs.state);
    assert.is(before.supervisor.running, true);
    const old = [before.supervisor.pid!, ...before.processes.map(({ pid }) => pid!)];
    await container.mustExec(["kill", "-KILL", ...old.map(String)]);
    await waitFor("the killed processes to be gone", async () => (await Promise.all(old.map((pid) => alive(container, pid)))).every((up) => !up));

    const started = await systemctl(container, "start", UNIT);
    assert.is(started.code, 0, `${started.stdout}\n${started.stderr}\n${(await container.exec(["journalctl", "--no-pager", "-u", UNIT])).stdout}`);
    assert.is(await property(container, UNIT, "ActiveState"), "active");
    const after = await statusOf(container, dirs.state);
    assert.equal(after.processes.map(({ name, state }) => [name, state]).sort(), [["web", "running"], ["worker", "running"]]);
    assert.is(after.supervisor.running, true, "the supervisor is back");
    // They belong to the unit (systemd stops them with it), and outlived its ExecStart.
    const cgroup = await property(container, UNIT, "ControlGroup");
    for (const pid of [after.supervisor.pid!, ...after.processes.map(({ pid }) => pid!)]) {
      assert.match(await container.mustExec(["cat", `/proc/${pid}/cgroup`]), cgroup, `PID ${pid} in ${cgroup}`);
    }
    assert.is((await procmanInside(container, ["status", "--state-dir", dirs.state])).code, 0);

    const stopped = await systemctl(container, "stop", UNIT);
    assert.is(stopped.code, 0, stopped.stderr);
    const now = [after.supervisor.pid!, ...after.processes.map(({ pid }) => pid!)];
    await waitFor("the processes and the supervisor to be gone", async () => (await Promise.all(now.map((pid) => alive(container, pid)))).every((up) => !up));
    const down = await statusOf(container, dirs.state);
    assert.equal(down.processes.map(({ state }) => state), ["stopped", "stopped"], "procman stop ran (recorded), not only systemd's kill");
  } finally {
    await procmanInside(container, ["stop", "--state-dir", dirs.state]);
    await systemctl(container, "disable", "--now", UNIT);
    await container.exec(["rm", "-f", `/etc/systemd/system/${UNIT}`]);
  }
});

test.run();
