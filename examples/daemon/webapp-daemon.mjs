// A web app that can daemonize itself, as in the Disnix post: run with -D it starts a detached copy
// of itself (new session, stdio to /dev/null), writes that copy's PID to PID_FILE once it listens,
// and exits 0; without -D it serves in the foreground. PORT sets the port.
import { spawn } from "node:child_process";
import { renameSync, writeFileSync } from "node:fs";
import http from "node:http";

const port = Number(process.env.PORT ?? 5300);

if (process.argv.includes("-D")) {
  const child = spawn(process.execPath, [process.argv[1], "--daemonized"], { detached: true, stdio: "ignore", env: process.env });
  child.unref();
  process.exit(0);
}

const server = http.createServer((_request, response) => {
  response.writeHead(200, { "content-type": "text/plain" });
  response.end(`hello from the self-daemonized webapp, PID ${process.pid}\n`);
});
server.listen(port, "127.0.0.1", () => {
  if (process.argv.includes("--daemonized") && process.env.PID_FILE) {
    // Written once listening, and atomically: whoever reads it sees a complete PID of a ready server.
    writeFileSync(`${process.env.PID_FILE}.tmp`, `${process.pid}\n`);
    renameSync(`${process.env.PID_FILE}.tmp`, process.env.PID_FILE);
  }
});
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
