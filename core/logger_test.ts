import assert from "node:assert/strict";
import { formatJson } from "./logger.ts";

Deno.test("formatJson() writes one JSON object: time, level, message, the process's fields, then the context", () => {
  const line = formatJson("warn", "Job given up", { role: "worker", shards: "0,1" }, {
    job: "12",
    err: new Error("boom"),
  });
  assert.ok(!line.includes("\n"));
  const parsed = JSON.parse(line);
  assert.equal(parsed.level, "warn");
  assert.equal(parsed.msg, "Job given up");
  assert.equal(parsed.role, "worker");
  assert.equal(parsed.shards, "0,1");
  assert.equal(parsed.job, "12");
  assert.deepEqual(parsed.err, { name: "Error", message: "boom" });
  assert.ok(!Number.isNaN(Date.parse(parsed.time)));
});
