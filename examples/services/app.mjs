// The example's application: plain node:http, talking to postgres, redis and memcached with the
// small clients next to it (no npm dependencies). GET / answers JSON that names, for each service,
// the PID of the server process that answered, so a caller can check who it reached.
// GET /healthz answers 200 only while all three answer (the model's readiness check).
import http from "node:http";
import * as memcached from "./memcached.mjs";
import { query } from "./postgres.mjs";
import { redis } from "./redis.mjs";

const port = (name) => {
  const value = Number(process.env[name]);
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new Error(`${name} must be a TCP port (got ${process.env[name]})`);
  return value;
};
const PORT = port("PORT");
const POSTGRES = { port: port("POSTGRES_PORT") };
const REDIS = port("REDIS_PORT");
const MEMCACHED = port("MEMCACHED_PORT");
const MESSAGE = process.env.APP_MESSAGE ?? "hello";

async function health() {
  await Promise.all([redis(REDIS, "PING"), memcached.stats(MEMCACHED), query(POSTGRES, "SELECT 1")]);
  return { status: 200, body: "ok\n" };
}

async function page() {
  const token = `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const [hits, info, stats, rows] = await Promise.all([
    redis(REDIS, "INCR", "stack:hits"),
    redis(REDIS, "INFO", "server"),
    memcached.set(MEMCACHED, "stack:last", token, 60).then(() => memcached.stats(MEMCACHED)),
    query(POSTGRES, "SELECT current_setting('server_version'), current_setting('data_directory'), pg_backend_pid()"),
  ]);
  const body = {
    message: MESSAGE,
    app: { pid: process.pid },
    redis: { pid: Number(/^process_id:(\d+)/m.exec(info)?.[1]), hits },
    memcached: { pid: Number(stats.pid), stored: token, read: await memcached.get(MEMCACHED, "stack:last") },
    postgres: { version: rows[0][0], dataDirectory: rows[0][1], backendPid: Number(rows[0][2]) },
  };
  return { status: 200, body: `${JSON.stringify(body)}\n`, type: "application/json" };
}

const routes = { "/": page, "/healthz": health };

const server = http.createServer(async (request, response) => {
  const route = routes[new URL(request.url ?? "/", "http://localhost").pathname];
  let answer;
  try {
    answer = route === undefined ? { status: 404, body: "not found\n" } : await route();
  } catch (error) {
    answer = { status: 503, body: `${error instanceof Error ? error.message : String(error)}\n` };
  }
  response.writeHead(answer.status, { "content-type": answer.type ?? "text/plain; charset=utf-8" });
  response.end(answer.body);
});
server.listen(PORT, "127.0.0.1", () => console.log(`app listening on http://127.0.0.1:${PORT}/`));

for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
