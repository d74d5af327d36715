// The real stack: PostgreSQL, Redis and memcached from the distribution, a small Node app that uses
// all three, and nginx in front of it, each on a port of its own that avoids the defaults so that
// the distribution's own instances (if any run) are never touched; directories and PID files are
// named stack-… for the same reason:
//
//   variable               default  what
//   STACK_POSTGRES_PORT    15432    postgres, 127.0.0.1 only, trust authentication
//   STACK_REDIS_PORT       16379    redis-server
//   STACK_MEMCACHED_PORT   11311    memcached (TCP only)
//   STACK_APP_PORT         18081    the app (app.mjs)
//   STACK_NGINX_PORT       18080    nginx, proxying to the app
//   STACK_APP_MESSAGE      hello    the app's greeting (change it to see a switch restart only app and nginx)
//   STACK_POSTGRES_BIN     the newest /usr/lib/postgresql/<version>/bin, else postgres on PATH
//
//   sudo npx procman switch examples/services/processes.ts --state-dir /srv/stack
//   curl http://127.0.0.1:18080/
//
// As root, postgres, redis and memcached run as the distribution's users (postgres, redis, memcache)
// and their data lives in directories procman creates for them, owned by them (stateDirectory,
// runtimeDirectory); the state dir must then be searchable by those users (mode 0755 or 0711).
// As anyone else everything runs as the caller. postgres refuses to run as root, so as root with
// --force-disable-user-change the model stops with an error.
import { readdirSync } from "node:fs";
import { createManagedProcess, defineProcesses } from "procman";

/** A port from the environment, or the fallback. */
function port(variable: string, fallback: number): number {
  const raw = process.env[variable];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1 || value > 65535) throw new Error(`${variable}: must be a TCP port 1-65535 (got ${JSON.stringify(raw)})`);
  return value;
}

/** The newest installed PostgreSQL's bin directory (Debian installs each major version side by side). */
function postgresBin(): string | undefined {
  if (process.env.STACK_POSTGRES_BIN) return process.env.STACK_POSTGRES_BIN;
  let versions: string[];
  try {
    versions = readdirSync("/usr/lib/postgresql").filter((name) => /^\d+(\.\d+)?$/.test(name));
  } catch {
    return undefined;
  }
  versions.sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : `/usr/lib/postgresql/${versions[0]}/bin`;
}

/** Single-quoted for sh. */
const sh = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

export default defineProcesses(({ stateDir, runtimeDir, modelDir, forceDisableUserChange }) => {
  const ports = {
    postgres: port("STACK_POSTGRES_PORT", 15432),
    redis: port("STACK_REDIS_PORT", 16379),
    memcached: port("STACK_MEMCACHED_PORT", 11311),
    app: port("STACK_APP_PORT", 18081),
    nginx: port("STACK_NGINX_PORT", 18080),
  };
  // procman changes identity only when it runs as root; as anyone else there is no one to become.
  const root = process.getuid?.() === 0;
  const switching = root && !forceDisableUserChange;
  const runAs = (user: string) => (switching ? user : undefined);
  if (root && !switching) throw new Error("postgres refuses to run as root: run procman as root without --force-disable-user-change, or as another user");

  // Relative names: stateDirectory under ${stateDir}/lib/, runtimeDirectory under ${runtimeDir}/.
  // "stack-…", and PID files of the same form: with the state dir /var (root's default) plain names
  // would be the distribution's own /var/lib/redis, /var/lib/nginx and /run/nginx.pid.
  const own = (name: string) => `stack-${name}`;
  const pidFile = (name: string) => `${runtimeDir}/${own(name)}.pid`;
  const pgData = `${stateDir}/lib/${own("postgres")}`;
  const pgSockets = `${runtimeDir}/${own("postgres")}`;
  const bin = postgresBin();
  const postgres = createManagedProcess({
    name: "postgres",
    description: "PostgreSQL on 127.0.0.1, trust authentication",
    foregroundProcess: bin === undefined ? "postgres" : `${bin}/postgres`,
    args: ["-D", pgData, "-h", "127.0.0.1", "-p", String(ports.postgres), "-k", pgSockets],
    path: bin === undefined ? [] : [bin],
    environment: { PGDATA: pgData, LANG: "C" },
    user: runAs("postgres"),
    pidFile: pidFile("postgres"),
    stateDirectory: { path: own("postgres"), mode: "0700" },
    runtimeDirectory: { path: own("postgres"), mode: "0755" },
    // Runs as the postgres user, in the directory procman created for it; only the first time.
    initialize: `[ -f "$PGDATA/PG_VERSION" ] || initdb -D "$PGDATA" -U postgres -A trust -E UTF8 --locale=C --no-instructions`,
    readiness: { tcp: { port: ports.postgres }, timeout: 60 },
    // SIGTERM would wait for every client to disconnect; SIGINT is postgres' "fast" shutdown.
    stop: { signal: "SIGINT", timeout: 30 },
  });

  const redisDir = `${stateDir}/lib/${own("redis")}`;
  const redis = createManagedProcess({
    name: "redis",
    description: "Redis, 127.0.0.1 only",
    foregroundProcess: "redis-server",
    args: ["--daemonize", "no", "--port", String(ports.redis), "--bind", "127.0.0.1", "--dir", redisDir, "--logfile", ""],
    user: runAs("redis"),
    pidFile: pidFile("redis"),
    stateDirectory: { path: own("redis"), mode: "0700" },
    readiness: { tcp: { port: ports.redis } },
  });

  const memcached = createManagedProcess({
    name: "memcached",
    description: "memcached, TCP on 127.0.0.1 only",
    foregroundProcess: "memcached",
    // memcached refuses to run as root without -u (it then drops to that user itself); with the
    // identity switch it never is root.
    args: ["-p", String(ports.memcached), "-l", "127.0.0.1", "-U", "0", "-m", "16", ...(root && !switching ? ["-u", "memcache"] : [])],
    user: runAs("memcache"),
    pidFile: pidFile("memcached"),
    readiness: { tcp: { port: ports.memcached } },
  });

  const app = createManagedProcess({
    name: "app",
    description: "Node app using postgres, redis and memcached",
    foregroundProcess: process.execPath, // the node that runs procman
    args: [`${modelDir}/app.mjs`],
    environment: {
      PORT: String(ports.app),
      POSTGRES_PORT: String(ports.postgres),
      REDIS_PORT: String(ports.redis),
      MEMCACHED_PORT: String(ports.memcached),
      APP_MESSAGE: process.env.STACK_APP_MESSAGE ?? "hello",
    },
    pidFile: pidFile("app"),
    activatesAfter: [postgres, redis, memcached],
    // /healthz answers 200 only once all three answer (postgres may still refuse while it starts).
    readiness: { http: { url: `http://127.0.0.1:${ports.app}/healthz` }, timeout: 30 },
  });

  const nginxDir = `${stateDir}/lib/${own("nginx")}`;
  const render = [
    `mkdir -p ${sh(`${nginxDir}/logs`)} ${sh(`${nginxDir}/tmp`)}`,
    `sed -e 's/@NGINX_PORT@/${ports.nginx}/g' -e 's/@APP_PORT@/${ports.app}/g' ${sh(`${modelDir}/nginx.conf.in`)} > ${sh(`${nginxDir}/nginx.conf`)}`,
  ].join(" && ");
  const nginx = createManagedProcess({
    name: "nginx",
    description: "nginx in front of the app",
    foregroundProcess: "/usr/sbin/nginx",
    // Foreground form; its own PID file beside its config (procman's is the one below).
    args: ["-p", `${nginxDir}/`, "-c", `${nginxDir}/nginx.conf`, "-e", "stderr", "-g", "daemon off; pid nginx.pid;"],
    pidFile: pidFile("nginx"),
    stateDirectory: { path: own("nginx"), mode: "0755" },
    initialize: render,
    activatesAfter: [app],
    readiness: { http: { url: `http://127.0.0.1:${ports.nginx}/healthz` } },
  });

  return { postgres, redis, memcached, app, nginx };
});
