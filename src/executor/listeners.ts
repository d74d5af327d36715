// Who listens on a port, from the kernel's socket tables: a connect alone cannot tell the
// process's own listener from another program's that held the port first (the process then
// failed to bind and exited). A LISTEN socket (st 0A) on the port, on the address or a wildcard,
// IPv4 or IPv6, counts when its inode is among the open descriptors of the process, its group or
// session, or a process carrying its tag (so `npm start` -> node and shell wrappers pass).
import { readFileSync } from "node:fs";
import { lookup } from "node:dns/promises";
import net from "node:net";
import os from "node:os";
import { isLive, listPids, readEnvironmentVariable, readProcStat, socketInodes } from "./proc.js";
import { TAG_VARIABLE } from "./tag-sweep.js";

export interface TcpListener {
  /** 32 hex digits (IPv6, IPv4 as ::ffff:a.b.c.d). */
  readonly address: string;
  readonly port: number;
  readonly inode: number;
  /** Connections completed but not yet accepted. */
  readonly acceptQueue: number;
}

const V4_MAPPED = "00000000000000000000ffff";
const WILDCARDS = new Set(["0".repeat(32), `${V4_MAPPED}00000000`]);

/** The LISTEN sockets on `port` in the network namespace of `pid` (default: procman's). */
export function readListeners(port: number, pid?: number): TcpListener[] {
  const listeners: TcpListener[] = [];
  for (const table of ["tcp", "tcp6"]) {
    let text: string;
    try {
      text = readFileSync(pid !== undefined ? `/proc/${pid}/net/${table}` : `/proc/net/${table}`, "latin1");
    } catch {
      if (pid !== undefined) return readListeners(port); // it is gone: its namespace was ours
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== "0A") continue;
      const [hexAddress = "", hexPort = ""] = fields[1]!.split(":");
      if (Number.parseInt(hexPort, 16) !== port) continue;
      const rx = Number.parseInt(fields[4]!.split(":")[1] ?? "0", 16);
      listeners.push({ address: kernelAddress(hexAddress), port, inode: Number(fields[9]), acceptQueue: rx });
    }
  }
  return listeners;
}

/** /proc's hex address (each 32-bit word in host byte order, little-endian here) as 32 hex digits. */
function kernelAddress(hex: string): string {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.map((word) => word.match(/../g)!.reverse().join("")).join("").toLowerCase();
  return bytes.length === 8 ? `${V4_MAPPED}${bytes}` : bytes;
}

/** An IP literal as 32 hex digits, IPv4 mapped into IPv6. */
export function canonicalAddress(ip: string): string | undefined {
  if (net.isIPv4(ip)) return V4_MAPPED + ip.split(".").map((part) => Number(part).toString(16).padStart(2, "0")).join("");
  if (!net.isIPv6(ip)) return undefined;
  let text = ip.replace(/%.*$/, "");
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4 !== null) {
    const hex = canonicalAddress(v4[1]!)!.slice(24);
    text = `${text.slice(0, -v4[1]!.length)}${hex.slice(0, 4)}:${hex.slice(4)}`;
  }
  const [head = "", tail] = text.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const fill = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill("0");
  return [...left, ...fill, ...right].map((group) => group.padStart(4, "0")).join("").toLowerCase();
}

/** The addresses a host name stands for. */
export async function addressesOf(host: string): Promise<Set<string>> {
  const literal = canonicalAddress(host.replace(/^\[|\]$/g, ""));
  if (literal !== undefined) return new Set([literal]);
  try {
    const found = await lookup(host, { all: true });
    return new Set(found.map((entry) => canonicalAddress(entry.address)).filter((entry): entry is string => entry !== undefined));
  } catch {
    return new Set();
  }
}

/** Whether a listener accepts connections to one of these addresses (its own or a wildcard). */
function serves(listener: TcpListener, addresses: ReadonlySet<string>): boolean {
  return WILDCARDS.has(listener.address) || addresses.has(listener.address);
}

/** Whether an address is this machine's (loopback, wildcard or an interface's): a local URL. */
export function isLocalAddress(address: string): boolean {
  if (WILDCARDS.has(address) || address.startsWith(`${V4_MAPPED}7f`) || address === `${"0".repeat(31)}1`) return true;
  for (const entries of Object.values(os.networkInterfaces())) {
    for (const entry of entries ?? []) if (canonicalAddress(entry.address) === address) return true;
  }
  return false;
}

export interface ListenerOwner {
  readonly pid: number;
  readonly pgid?: number;
  readonly session?: number;
  /** PROCMAN_TAG of what procman spawned for it. */
  readonly tag?: string;
}

/**
 * The PID of the owner's process (itself, its group, session, or a tagged process) that holds a
 * LISTEN socket on host:port, or undefined. One scan of /proc at most.
 */
export function listenerOwnedBy(addresses: ReadonlySet<string>, port: number, owner: ListenerOwner): number | undefined {
  const inodes = new Set(
    readListeners(port, owner.pid)
      .filter((listener) => serves(listener, addresses))
      .map((listener) => listener.inode),
  );
  if (inodes.size === 0) return undefined;
  const holds = (pid: number) => [...socketInodes(pid)].some((inode) => inodes.has(inode));
  if (holds(owner.pid)) return owner.pid;
  for (const pid of listPids()) {
    if (pid === owner.pid || pid === process.pid) continue;
    const stat = readProcStat(pid);
    if (!isLive(stat)) continue;
    const related =
      (owner.pgid !== undefined && stat.pgrp === owner.pgid) ||
      (owner.session !== undefined && stat.session === owner.session) ||
      (owner.tag !== undefined && readEnvironmentVariable(pid, TAG_VARIABLE) === owner.tag);
    if (related && holds(pid)) return pid;
  }
  return undefined;
}

/** Whether anything listens on host:port (any process). */
export function anyListener(addresses: ReadonlySet<string>, port: number, pid?: number): boolean {
  return readListeners(port, pid).some((listener) => serves(listener, addresses));
}

/**
 * The accept queue of the LISTEN sockets on host:port (the largest): connections the kernel
 * completed that nobody accepted. A frozen process still completes handshakes, so a growing
 * queue with no answers means hung. Undefined when nothing listens.
 */
export function acceptQueue(addresses: ReadonlySet<string>, port: number, pid?: number): number | undefined {
  const matching = readListeners(port, pid).filter((listener) => serves(listener, addresses));
  return matching.length === 0 ? undefined : Math.max(...matching.map((listener) => listener.acceptQueue));
}
