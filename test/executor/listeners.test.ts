// Who listens on a port, read from /proc/net/tcp{,6}: addresses in both families, wildcards, the
// owner's descriptors, and the accept queue of a listener that never accepts.
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { acceptQueue, addressesOf, canonicalAddress, listenerOwnedBy, readListeners } from "../../src/executor/listeners.js";
import { NODE, freePort, killedAfterEach, waitFor } from "../helpers/processes.js";

const spawned = killedAfterEach(test);

function server(host: string, port: number): Promise<ChildProcess> {
  const child = spawn(NODE, ["-e", `require("net").createServer(s => s.end()).listen(${port}, ${JSON.stringify(host)}, () => console.log("READY"))`], {
    detached: true,
    stdio: ["ignore", "pipe", "ignore"],
  });
  spawned.push(child);
  return new Promise((resolve, reject) => {
    child.stdout!.once("data", () => resolve(child));
    child.once("exit", (code) => reject(new Error(`the server exited (${code})`)));
  });
}

test("canonicalAddress: IPv4 maps into IPv6; :: and embedded IPv4 forms expand; names are not literals", () => {
  assert.is(canonicalAddress("127.0.0.1"), "00000000000000000000ffff7f000001");
  assert.is(canonicalAddress("::1"), "00000000000000000000000000000001");
  assert.is(canonicalAddress("::"), "0".repeat(32));
  assert.is(canonicalAddress("::ffff:127.0.0.1"), "00000000000000000000ffff7f000001");
  assert.is(canonicalAddress("fe80::1:2"), "fe800000000000000000000000010002");
  assert.is(canonicalAddress("localhost"), undefined);
});

test("readListeners: a LISTEN socket on 127.0.0.1 and one on ::1 are found with their inodes; a closed port has none", async () => {
  const port = await freePort();
  assert.equal(readListeners(port), []);
  const v4 = await server("127.0.0.1", port);
  const v6port = await freePort();
  const v6 = await server("::1", v6port).catch(() => undefined);
  const found = readListeners(port);
  assert.is(found.length, 1);
  assert.is(found[0]!.address, canonicalAddress("127.0.0.1"));
  assert.ok(found[0]!.inode > 0);
  const addresses = await addressesOf("127.0.0.1");
  assert.is(listenerOwnedBy(addresses, port, { pid: v4.pid! }), v4.pid);
  assert.is(listenerOwnedBy(addresses, port, { pid: process.pid }), undefined, "not this process's socket");
  assert.is(listenerOwnedBy(await addressesOf("10.255.255.1"), port, { pid: v4.pid! }), undefined, "another address");
  if (v6 !== undefined) {
    assert.is(readListeners(v6port)[0]!.address, canonicalAddress("::1"));
    assert.is(listenerOwnedBy(await addressesOf("::1"), v6port, { pid: v6.pid! }), v6.pid);
  }
});

test("acceptQueue: connections to a frozen listener pile up in rx_queue", async () => {
  const port = await freePort();
  const frozen = await server("127.0.0.1", port);
  const addresses = await addressesOf("127.0.0.1");
  assert.is(acceptQueue(addresses, port), 0);
  process.kill(frozen.pid!, "SIGSTOP");
  const sockets = await Promise.all(
    [1, 2, 3].map(
      () =>
        new Promise<net.Socket>((resolve) => {
          const socket = net.connect(port, "127.0.0.1", () => resolve(socket));
        }),
    ),
  );
  await waitFor(() => acceptQueue(addresses, port) === 3, 5000, "three queued connections");
  for (const socket of sockets) socket.destroy();
  assert.is(acceptQueue(addresses, await freePort()), undefined, "nothing listens");
});

test.run();
