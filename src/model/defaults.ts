// Every default of the model in one place, so that the README's field reference can be checked
// against one file.

/** systemd's default PATH: what a process gets when the model does not set PATH itself. */
export const MINIMAL_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export const DEFAULTS = {
  readinessTimeout: 30,
  readinessInterval: 0.1,
  tcpHost: "127.0.0.1",
  httpStatus: 200,
  stopSignal: "SIGTERM",
  stopTimeout: 10,
  reloadSignal: "SIGHUP",
  restartPolicy: "on-failure",
  restartDelay: 1,
  restartMaxDelay: 30,
  restartBurst: 5,
  restartInterval: 60,
  livenessInterval: 10,
  livenessTimeout: 5,
  livenessFailures: 3,
  logMaxSize: 10 * 1024 * 1024,
  logKeep: 3,
  directoryMode: "0700",
} as const;
