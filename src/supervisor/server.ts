// The supervisor's side of the control socket. Only the socket's mode (0600, the owner: the user
// procman runs as) decides who may ask; every request is carried out, also while paused, because
// the one who paused it (the lock holder) is the one asking. A pause belongs to its connection: if
// that procman dies without resuming, the pause ends with its connection.
import { chmodSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { SOCKET_NAME, SUN_PATH_MAX } from "./paths.js";
import { StartError } from "../executor/launch.js";
import { lineReader, type Answer, type Request, type ResumeResult } from "./protocol.js";
import type { Supervisor } from "./supervisor.js";
import { forgetCheckedServiceDirs } from "../executor/dir-trust.js";

export interface ServeOptions {
  /** The directory of the socket (lib/procman). */
  readonly dir: string;
  /** After a shutdown request was carried out, before it is answered: remove what is left. */
  readonly onShutdown: () => void;
  /** Once the shutdown was answered (the entry point exits here). */
  readonly afterShutdown?: () => void;
  /** Seconds a start-up pause waits for its starter's first request before it lifts by itself. */
  readonly startupGrace?: number;
}

export function serve(supervisor: Supervisor, options: ServeOptions): Promise<net.Server> {
  let owner: net.Socket | "startup" | undefined = supervisor.isPaused ? "startup" : undefined;
  const grace = setTimeout(() => {
    if (owner === "startup") {
      owner = undefined;
      supervisor.resume();
    }
  }, (options.startupGrace ?? 60) * 1000);
  grace.unref();

  const server = net.createServer((socket) => {
    let ending = false;
    const answer = (value: Answer) => {
      if (!socket.destroyed) socket.write(`${JSON.stringify(value)}\n`);
    };
    const handle = async (request: Request): Promise<unknown> => {
      if (owner === "startup") owner = socket;
      switch (request.op) {
        case "hello":
          return { pid: process.pid, paused: supervisor.isPaused };
        case "pause":
          owner = socket;
          await supervisor.pause();
          // The command may change who owns what (an own directory made for a service).
          forgetCheckedServiceDirs();
          return undefined;
        case "resume": {
          forgetCheckedServiceDirs();
          // From the lock holder, as its last step: it hands over and reports what is decided now.
          owner = undefined;
          const result: ResumeResult = { events: supervisor.resume(true) };
          return result;
        }
        case "spawn":
          return supervisor.spawn(request.spec, request.specHash);
        case "exit":
          return supervisor.exitOf(request.pid);
        case "expectStop":
          supervisor.expectStop(request.names, request.operator === true);
          return undefined;
        case "shutdown":
          ending = true;
          await supervisor.shutdown();
          server.close();
          options.onShutdown();
          return undefined;
      }
    };
    socket.on(
      "data",
      lineReader(
        (line) => {
          let request: Request;
          try {
            request = JSON.parse(line) as Request;
          } catch {
            answer({ id: -1, ok: false, error: { code: "EPROTO", message: "not a JSON line" } });
            return;
          }
          handle(request).then(
            (result) => {
              answer({ id: request.id, ok: true, result });
              if (ending) socket.end(() => options.afterShutdown?.());
            },
            (error: unknown) =>
              answer({
                id: request.id,
                ok: false,
                error: {
                  code: (error as { code?: string }).code ?? (error instanceof StartError ? "ESTART" : "EFAILED"),
                  message: error instanceof Error ? error.message : String(error),
                  ...(error instanceof StartError ? { process: error.process, ...(error.logOffset !== undefined ? { logOffset: error.logOffset } : {}) } : {}),
                },
              }),
          );
        },
        () => socket.destroy(),
      ),
    );
    socket.on("error", () => undefined);
    socket.on("close", () => {
      if (owner === socket) {
        owner = undefined;
        supervisor.holderGone();
      }
    });
  });
  const full = path.join(options.dir, SOCKET_NAME);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    // Created 0600 from the start: no window in which another user could connect.
    const umask = process.umask(0o177);
    const cwd = process.cwd();
    try {
      if (Buffer.byteLength(full) <= SUN_PATH_MAX) server.listen(full, () => done());
      else {
        // Too long for sun_path (Node would truncate it silently): bound relative to its directory.
        // bind() runs synchronously within listen(), so the working directory changes only around it.
        process.chdir(options.dir);
        server.listen(SOCKET_NAME, () => done());
      }
    } finally {
      process.chdir(cwd);
      process.umask(umask);
    }
    const done = () => {
      chmodSync(full, 0o600);
      resolve(server);
    };
  });
}
