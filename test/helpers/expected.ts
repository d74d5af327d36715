// What fixtures must produce, shared by the library tests and the CLI tests.
import { fixture } from "./paths.js";

/** Several problems in several processes, a cycle among them. */
export const MANY_PROBLEMS_FILE = fixture("models/many-problems.yaml");

/** Every issue of MANY_PROBLEMS_FILE, in order, as printed. */
export const MANY_PROBLEMS = [
  "cache: name: \"memcache\" differs from its key \"cache\"; leave it out or make them equal",
  "web: foregroundProces: unknown field (did you mean foregroundProcess?)",
  "web: process: no executable: set process, foregroundProcess or daemon",
  "web: nice: must be an integer at least -20 and at most 19 (got 40)",
  'db: umask: must be an octal string such as "022" (got number 22, which is ambiguous: YAML reads 022 as twenty-two)',
  'proxy: activatesAfter[0]: depends on unknown process "nope" (the model has: db, proxy, web)',
  'proxy: environment.PORT: must be a string (got number 8080); quote it: "8080"',
  "proxy: readiness.tcp.port: must be an integer at least 1 and at most 65535 (got 70000)",
  "web: activatesAfter: dependency cycle: web -> db -> web",
];
