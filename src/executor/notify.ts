// s6-style readiness: the process writes a line ending in "\n" to descriptor N when it is ready.
// N is a FIFO under lib/procman that the child holds open read-write: it is a reader itself, so
// when procman's reader goes away (a Ctrl-C'd switch, a supervisor restart) the child never gets
// SIGPIPE for it. The FIFO's name is removed once both ends are open: nothing is left behind.
import { execFileSync } from "node:child_process";
import { closeSync, constants, lstatSync, openSync, unlinkSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { systemTool } from "./run-as.js";
import { makeDirectories } from "./atomic.js";

export interface NotifyChannel {
  /** The descriptor to pass to the child as fd N (procman closes its copy after the spawn). */
  readonly childFd: number;
  /** Resolves with the first complete line; with undefined once every writer closed it (the process exited). */
  readonly line: Promise<string | undefined>;
  readonly received: () => boolean;
  /** After the spawn: procman's copy of the child's end goes (the child's own keeps it open). */
  releaseChildEnd(): void;
  close(): void;
}

export function openNotifyChannel(libDir: string, name: string): NotifyChannel {
  const dir = path.join(libDir, "notify");
  makeDirectories(dir, 0o700);
  const fifo = path.join(dir, `${name}.${process.pid}.fifo`);
  try {
    if (!lstatSync(fifo).isDirectory()) unlinkSync(fifo);
  } catch {
    // not there
  }
  execFileSync(systemTool("mkfifo"), ["-m", "0600", "--", fifo], { stdio: "ignore" });
  let readFd: number;
  let childFd: number;
  try {
    readFd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    childFd = openSync(fifo, constants.O_RDWR | constants.O_NOFOLLOW);
  } finally {
    unlinkSync(fifo);
  }
  const socket = new net.Socket({ fd: readFd, readable: true, writable: false });
  let text = "";
  let done = false;
  const line = new Promise<string | undefined>((resolve) => {
    const finish = (value: string | undefined) => {
      if (done) return;
      done = value !== undefined;
      resolve(value);
      socket.destroy();
    };
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
      const end = text.indexOf("\n");
      if (end >= 0) finish(text.slice(0, end));
      else if (text.length > 4096) text = text.slice(-4096);
    });
    socket.once("end", () => finish(undefined));
    socket.once("error", () => finish(undefined));
    socket.once("close", () => finish(undefined));
  });
  socket.unref();
  let released = false;
  const releaseChildEnd = () => {
    if (released) return;
    released = true;
    closeSync(childFd);
  };
  return {
    childFd,
    line,
    received: () => done,
    releaseChildEnd,
    close: () => {
      releaseChildEnd();
      socket.destroy();
    },
  };
}
