import assert from "node:assert/strict";
import { formatDuration } from "./similar.ts";

Deno.test("formatDuration() rounds the whole length before splitting minutes and seconds", () => {
  assert.equal(formatDuration(59.6), "1:00");
  assert.equal(formatDuration(168), "2:48");
  assert.equal(formatDuration(0.4), "0:00");
  assert.equal(formatDuration(3601), "60:01");
});
