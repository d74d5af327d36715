import { test } from "uvu";
import * as assert from "uvu/assert";
import { normalizeSignal } from "../../src/model/signals.js";
test("signal", () => { assert.is(normalizeSignal("term"), "SIGTERM"); });
test.run();
