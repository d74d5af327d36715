// A minimal memcached client: one command per connection, in memcached's text protocol.
import net from "node:net";

/** Sends `request` and resolves with the answer once it ends in one of `endings`. */
function exchange(port, request, endings) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    let answer = "";
    socket.setTimeout(5000, () => socket.destroy(new Error("memcached: no answer within 5 s")));
    socket.once("error", reject);
    socket.once("connect", () => socket.write(request));
    socket.setEncoding("utf8").on("data", (chunk) => {
      answer += chunk;
      // An error is the whole answer (a stored value could contain the same words on a line of its own).
      if (/^(?:ERROR|CLIENT_ERROR|SERVER_ERROR)\b.*\r\n$/s.test(answer)) {
        socket.end();
        reject(new Error(`memcached: ${answer.trim()}`));
      } else if (endings.some((ending) => answer.endsWith(ending))) {
        socket.end();
        resolve(answer);
      }
    });
    socket.once("close", () => reject(new Error("memcached: connection closed before a full answer")));
  });
}

export async function set(port, key, value, ttlSeconds = 0) {
  const bytes = Buffer.byteLength(value);
  const answer = await exchange(port, `set ${key} 0 ${ttlSeconds} ${bytes}\r\n${value}\r\n`, ["STORED\r\n", "NOT_STORED\r\n"]);
  if (answer !== "STORED\r\n") throw new Error(`memcached: set ${key}: ${answer.trim()}`);
}

/** The value stored under key, or undefined. */
export async function get(port, key) {
  const answer = await exchange(port, `get ${key}\r\n`, ["END\r\n"]);
  const match = /^VALUE \S+ \d+ (\d+)\r\n/.exec(answer);
  if (match === null) return undefined;
  const start = match[0].length;
  return Buffer.from(answer).subarray(start, start + Number(match[1])).toString("utf8");
}

/** `stats` as a mapping (pid, uptime, version, …). */
export async function stats(port) {
  const answer = await exchange(port, "stats\r\n", ["END\r\n"]);
  return Object.fromEntries([...answer.matchAll(/^STAT (\S+) (.*)\r$/gm)].map((match) => [match[1], match[2]]));
}
