import assert from "node:assert/strict";
import { CatalogUnreachableError, createMemoryLogger } from "../../core/mod.ts";
import { errorNotice } from "./_errors.ts";

Deno.test("errorNotice() answers an unreachable catalog kindly, with its code, and logs nothing above debug", () => {
  const { logger, records } = createMemoryLogger();
  const refused = Object.assign(new Error("connect ECONNREFUSED 10.0.0.5:5432"), { code: "ECONNREFUSED" });
  const err = new CatalogUnreachableError("10.0.0.5:5432", "ECONNREFUSED", {
    cause: new Error('Failed query: select "title" from "tracks"\nparams: 1', { cause: refused }),
  });
  const answer = errorNotice(err, logger, { platform: "discord" });
  assert.deepEqual(answer, {
    kind: "notice",
    tone: "error",
    code: "catalog_unreachable",
    text: "The catalog is unreachable right now (its database does not answer): try again in a minute",
  });
  assert.deepEqual(
    records.filter((r) => r.level !== "debug"),
    [],
    "the outage itself is logged once by the app",
  );
});
