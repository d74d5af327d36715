// A minimal Redis client: one command per connection, spoken in RESP over a TCP socket.
import net from "node:net";

/** Encodes a command as a RESP array of bulk strings. */
function encode(words) {
  return Buffer.concat([
    Buffer.from(`*${words.length}\r\n`),
    ...words.flatMap((word) => {
      const bytes = Buffer.from(String(word));
      return [Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from("\r\n")];
    }),
  ]);
}

/** Parses one reply at `at`: [value, next offset], or undefined while it is incomplete. */
function parse(buffer, at = 0) {
  const end = buffer.indexOf("\r\n", at);
  if (end < 0) return undefined;
  const type = String.fromCharCode(buffer[at]);
  const line = buffer.toString("utf8", at + 1, end);
  const next = end + 2;
  switch (type) {
    case "+":
      return [line, next];
    case "-":
      return [new Error(`redis: ${line}`), next];
    case ":":
      return [Number(line), next];
    case "$": {
      const length = Number(line);
      if (length < 0) return [null, next];
      if (buffer.length < next + length + 2) return undefined;
      return [buffer.toString("utf8", next, next + length), next + length + 2];
    }
    case "*": {
      const count = Number(line);
      if (count < 0) return [null, next];
      const items = [];
      let offset = next;
      for (let i = 0; i < count; i++) {
        const item = parse(buffer, offset);
        if (item === undefined) return undefined;
        items.push(item[0]);
        offset = item[1];
      }
      return [items, offset];
    }
    default:
      return [new Error(`redis: unexpected reply type ${JSON.stringify(type)}`), buffer.length];
  }
}

/** Sends one command (e.g. "INCR", "hits") and resolves with its reply; an error reply rejects. */
export function redis(port, ...words) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    let buffer = Buffer.alloc(0);
    socket.setTimeout(5000, () => socket.destroy(new Error("redis: no answer within 5 s")));
    socket.once("error", reject);
    socket.once("connect", () => socket.write(encode(words)));
    socket.on("data", (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      const reply = parse(buffer);
      if (reply === undefined) return;
      socket.end();
      if (reply[0] instanceof Error) reject(reply[0]);
      else resolve(reply[0]);
    });
    socket.once("close", () => reject(new Error("redis: connection closed before a full reply")));
  });
}
