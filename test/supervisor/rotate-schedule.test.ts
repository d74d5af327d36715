// When each log is looked at again: soon enough that a fast writer stays near its cap, rarely for a
// log that does not grow. A clock of plain numbers: no timing in the test.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { MIN_MS, RotationSchedule } from "../../src/supervisor/rotate-schedule.js";

const KB = 1024;

test("a log never looked at is due at once; then soon, the gap doubling while it does not grow", () => {
  const schedule = new RotationSchedule(1000);
  assert.ok(schedule.isDue("a", 0));
  let now = 0;
  const gaps: number[] = [];
  for (let i = 0; i < 8; i++) {
    const due = schedule.observe("a", now, 100, 100, 256 * KB);
    gaps.push(due - now);
    assert.not.ok(schedule.isDue("a", due - 1));
    assert.ok(schedule.isDue("a", due));
    now = due;
  }
  assert.equal(gaps, [MIN_MS, 100, 200, 400, 800, 1000, 1000, 1000]);
});

test("a fast writer is looked at again when its growth would reach the cap", () => {
  const schedule = new RotationSchedule(1000);
  schedule.observe("fast", 0, 0, 0, 256 * KB);
  // 1.4 MB/s: 70 KB in the first 50 ms; the cap is 186 KB further, ~130 ms at that rate.
  const due = schedule.observe("fast", 50, 70_000, 70_000, 256 * KB);
  assert.ok(due - 50 > 120 && due - 50 < 140, `next look in ${due - 50} ms`);
  // Past the cap and rotated down to 3 KB: the next look is a cap's worth of writing away (~185 ms).
  const next = schedule.observe("fast", due, 70_000 + 1400 * (due - 50), 3 * KB, 256 * KB);
  assert.ok(next - due > 170 && next - due < 190, `after a rotation: ${next - due} ms`);
});

test("the gap is bounded both ways, and a shrink (rotated elsewhere, replaced) keeps the last rate", () => {
  const schedule = new RotationSchedule(1000);
  schedule.observe("x", 0, 0, 0, 1024);
  assert.is(schedule.observe("x", 100, 10 * 1024 * 1024, 10 * 1024 * 1024, 1024) - 100, MIN_MS, "never sooner than MIN_MS");
  const slow = new RotationSchedule(1000);
  slow.observe("y", 0, 0, 0, 100 * 1024 * 1024);
  assert.is(slow.observe("y", 1000, 10, 10, 100 * 1024 * 1024) - 1000, 1000, "never later than the longest gap");
  const shrunk = new RotationSchedule(1000);
  shrunk.observe("z", 0, 0, 0, 256 * KB);
  shrunk.observe("z", 100, 100 * KB, 100 * KB, 256 * KB); // 1 KB/ms
  assert.is(shrunk.observe("z", 200, 10 * KB, 10 * KB, 256 * KB) - 200, 246, "the 1 KB/ms rate kept");
});

test("nextIn: the earliest due log, within the bounds; forget drops one", () => {
  const schedule = new RotationSchedule(1000);
  assert.is(schedule.nextIn(0), 1000, "nothing known: the longest gap");
  schedule.observe("a", 0, 0, 0, 1024); // due at 50
  schedule.observe("b", 0, 0, 0, 1024); // due at 50
  schedule.observe("b", 50, 0, 0, 1024); // due at 150
  assert.is(schedule.nextIn(0), 50);
  assert.is(schedule.nextIn(30), MIN_MS, "never sooner than MIN_MS");
  assert.is(schedule.nextIn(200), MIN_MS, "overdue: at the shortest gap");
  schedule.forget("a");
  assert.is(schedule.nextIn(60), 90);
});

test.run();
