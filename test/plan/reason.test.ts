// describeReason: every kind of plan reason as one line, in the model's terms.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { describeReason, type PlanReason } from "../../src/plan/reason.js";

test("every kind renders", () => {
  const cases: [PlanReason, string][] = [
    [{ kind: "new" }, "new"],
    [{ kind: "changed", fields: ["args", "environment"] }, "changed: args, environment"],
    [{ kind: "changed", fields: [] }, "changed (runs differently from its record)"],
    [{ kind: "dependency-changed", causes: ["db", "cache"] }, "restarted with what it activatesAfter (db, cache changed)"],
    [{ kind: "removed" }, "removed from the model"],
    [{ kind: "stop-all" }, "stopping everything"],
    [{ kind: "not-running" }, "was not running"],
    [{ kind: "died" }, "died"],
    [{ kind: "pid-reused" }, "its PID now belongs to another process (left alone)"],
    [{ kind: "unchanged" }, "unchanged and running"],
    [{ kind: "undo" }, "undo"],
    [{ kind: "operator", command: "restart" }, "procman restart"],
    [{ kind: "dependency-of", name: "web" }, "web activatesAfter it"],
    [{ kind: "dependent-of", name: "db" }, "it activatesAfter db"],
  ];
  for (const [reason, text] of cases) assert.is(describeReason(reason), text, reason.kind);
});

test("a reason is plain data: it survives JSON", () => {
  const reason: PlanReason = { kind: "changed", fields: ["args"] };
  assert.equal(JSON.parse(JSON.stringify(reason)), reason);
});

test.run();
