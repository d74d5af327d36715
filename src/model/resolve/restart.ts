// restart: a policy name, or the policy with its backoff and start limit.
import { checkKnownKeys, checkNumber, describeValue, isPlainObject, type Report } from "../checks.js";
import { DEFAULTS } from "../defaults.js";
import { RESTART_POLICIES, type RestartPolicy, type RestartSettings } from "../types.js";

const DAY = 86400;

export function resolveRestart(raw: unknown, report: Report): RestartSettings {
  if (raw === undefined) return settings(DEFAULTS.restartPolicy);
  if (typeof raw === "string") {
    if ((RESTART_POLICIES as readonly string[]).includes(raw)) return settings(raw as RestartPolicy);
    report("restart", `must be one of ${RESTART_POLICIES.join(", ")} (got ${JSON.stringify(raw)})`);
    return settings(DEFAULTS.restartPolicy);
  }
  if (!isPlainObject(raw)) {
    report("restart", `must be a policy (${RESTART_POLICIES.join(", ")}) or { policy, delay, maxDelay, limit } (got ${describeValue(raw)})`);
    return settings(DEFAULTS.restartPolicy);
  }
  checkKnownKeys(raw, ["policy", "delay", "maxDelay", "limit"], "restart", report);
  const policy = raw.policy === undefined ? DEFAULTS.restartPolicy : checkPolicy(raw.policy, "restart.policy", report);
  const givenDelay = seconds(raw.delay, "restart.delay", report);
  const givenMaxDelay = seconds(raw.maxDelay, "restart.maxDelay", report);
  const delay = givenDelay ?? DEFAULTS.restartDelay;
  // Without an explicit maxDelay, a long delay raises the cap instead of contradicting it.
  const maxDelay = givenMaxDelay ?? Math.max(DEFAULTS.restartMaxDelay, delay);
  if (givenMaxDelay !== undefined && givenMaxDelay !== null && givenDelay !== null && maxDelay < delay) {
    const what = givenDelay === undefined ? "the default restart.delay" : "restart.delay";
    report("restart.maxDelay", `(${maxDelay} s) is shorter than ${what} (${delay} s)`);
  }
  return { policy, delay, maxDelay, limit: resolveLimit(raw.limit, report) };
}

/** undefined: not given; null: invalid (reported), so that it is compared with nothing. */
function seconds(value: unknown, field: string, report: Report): number | undefined | null {
  return value === undefined ? undefined : (checkNumber(value, field, report, { min: 0, max: DAY, unit: "seconds" }) ?? null);
}

function resolveLimit(raw: unknown, report: Report): RestartSettings["limit"] {
  const fallback = { burst: DEFAULTS.restartBurst, interval: DEFAULTS.restartInterval };
  if (raw === undefined) return fallback;
  if (!isPlainObject(raw)) {
    report("restart.limit", `must be an object such as { burst: 5, interval: 60 } (got ${describeValue(raw)})`);
    return fallback;
  }
  checkKnownKeys(raw, ["burst", "interval"], "restart.limit", report);
  const burst =
    raw.burst === undefined
      ? fallback.burst
      : (checkNumber(raw.burst, "restart.limit.burst", report, { min: 1, max: 10000, integer: true }) ?? fallback.burst);
  const interval =
    raw.interval === undefined
      ? fallback.interval
      : (checkNumber(raw.interval, "restart.limit.interval", report, { min: 0, max: DAY, exclusiveMin: true, unit: "seconds" }) ??
        fallback.interval);
  return { burst, interval };
}

function checkPolicy(raw: unknown, field: string, report: Report): RestartPolicy {
  if ((RESTART_POLICIES as readonly unknown[]).includes(raw)) return raw as RestartPolicy;
  report(field, `must be one of ${RESTART_POLICIES.join(", ")} (got ${describeValue(raw)})`);
  return DEFAULTS.restartPolicy;
}

function settings(policy: RestartPolicy): RestartSettings {
  return {
    policy,
    delay: DEFAULTS.restartDelay,
    maxDelay: DEFAULTS.restartMaxDelay,
    limit: { burst: DEFAULTS.restartBurst, interval: DEFAULTS.restartInterval },
  };
}
