// A minimal PostgreSQL client: the startup message and one simple query over the wire protocol
// (version 3.0), one connection per query. It speaks no authentication method but "trust", which
// the example's initdb sets up for connections on loopback.
import net from "node:net";

/** A frontend message: type byte (none for the startup message), Int32 length, body. */
function message(type, body) {
  const length = Buffer.alloc(4);
  length.writeInt32BE(body.length + 4);
  return Buffer.concat([type === "" ? Buffer.alloc(0) : Buffer.from(type), length, body]);
}

const cstring = (text) => Buffer.from(`${text}\0`);

function startup(user, database) {
  const version = Buffer.alloc(4);
  version.writeInt32BE(3 << 16);
  return message("", Buffer.concat([version, cstring("user"), cstring(user), cstring("database"), cstring(database), Buffer.from([0])]));
}

/** The fields of an ErrorResponse ('M' message, 'C' SQLSTATE, …). */
function errorFields(body) {
  const fields = {};
  for (let at = 0; at < body.length && body[at] !== 0; ) {
    const end = body.indexOf(0, at + 1);
    fields[String.fromCharCode(body[at])] = body.toString("utf8", at + 1, end);
    at = end + 1;
  }
  return fields;
}

/** A DataRow: each column as text, or null. */
function dataRow(body) {
  const row = [];
  let at = 2;
  for (let column = body.readInt16BE(0); column > 0; column--) {
    const length = body.readInt32BE(at);
    at += 4;
    row.push(length < 0 ? null : body.toString("utf8", at, at + length));
    if (length > 0) at += length;
  }
  return row;
}

/** Runs `sql` (one simple query) and resolves with its rows, each an array of text values. */
export function query({ port, host = "127.0.0.1", user = "postgres", database = "postgres" }, sql) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const rows = [];
    let buffer = Buffer.alloc(0);
    let queried = false;
    let failure;
    const fail = (error) => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(5000, () => fail(new Error("postgres: no answer within 5 s")));
    socket.once("error", reject);
    socket.once("connect", () => socket.write(startup(user, database)));
    socket.on("data", (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (buffer.length >= 5) {
        const length = buffer.readInt32BE(1);
        if (buffer.length < length + 1) return;
        const type = String.fromCharCode(buffer[0]);
        const body = buffer.subarray(5, length + 1);
        buffer = buffer.subarray(length + 1);
        if (type === "R" && body.readInt32BE(0) !== 0) {
          return fail(new Error(`postgres: the server asks for authentication method ${body.readInt32BE(0)}; this client speaks only trust`));
        }
        if (type === "E") {
          const fields = errorFields(body);
          failure = new Error(`postgres: ${fields.M ?? "error"} (SQLSTATE ${fields.C ?? "?"})`);
          if (!queried) return fail(failure); // the server closes after a failed startup
        }
        if (type === "D") rows.push(dataRow(body));
        if (type === "Z") {
          if (!queried) {
            queried = true;
            socket.write(message("Q", cstring(sql)));
          } else {
            socket.end(message("X", Buffer.alloc(0)));
            if (failure !== undefined) reject(failure);
            else resolve(rows);
          }
        }
        // S (parameter status), K (backend key), T (row description), C (command complete), N (notice): nothing to do.
      }
    });
    socket.once("close", () => reject(new Error("postgres: connection closed before the query completed")));
  });
}
