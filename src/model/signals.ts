// Signal names every target understands (systemd, supervisord, launchd via kill(1), sh's kill).
export const SIGNALS = [
  "SIGHUP", "SIGINT", "SIGQUIT", "SIGABRT", "SIGKILL", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGTERM",
  "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGWINCH",
] as const;
export type SignalName = (typeof SIGNALS)[number];

/** "TERM", "sigterm" and "SIGTERM" all give "SIGTERM"; anything else undefined. */
export function normalizeSignal(raw: unknown): SignalName | undefined {
  if (typeof raw !== "string") return undefined;
  const upper = raw.toUpperCase();
  const name = upper.startsWith("SIG") ? upper : `SIG${upper}`;
  return (SIGNALS as readonly string[]).includes(name) ? (name as SignalName) : undefined;
}
