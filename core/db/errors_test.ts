import assert from "node:assert/strict";
import { isSoundalikeError, SoundalikeError } from "../errors.ts";
import { databaseStep, isRowFailure, pgFailure, rowFailureReason } from "./errors.ts";

/** What drizzle throws: the query and its parameters in the message, the server's error as the cause. */
function drizzleError(code: string, message: string): Error {
  const server = Object.assign(new Error(message), { code });
  return new Error(`Failed query: insert into "albums" ("title") values ($1)\nparams: L\u0000P`, {
    cause: server,
  });
}

Deno.test("pgFailure() finds the server's code and message under drizzle's query dump", () => {
  assert.deepEqual(pgFailure(drizzleError("22021", 'invalid byte sequence for encoding "UTF8": 0x00')), {
    code: "22021",
    message: 'invalid byte sequence for encoding "UTF8": 0x00',
  });
  assert.deepEqual(
    pgFailure(new Error("Failed query: select 1\nparams: ", { cause: new Error("connect ECONNREFUSED") })),
    {
      code: undefined,
      message: "connect ECONNREFUSED",
    },
  );
  assert.deepEqual(pgFailure(new Error("Failed query: select 1\nparams: x")), {
    code: undefined,
    message: "the query failed",
  });
});

Deno.test("isRowFailure() is true for data errors only", () => {
  assert.equal(isRowFailure(drizzleError("22021", "bad byte")), true);
  assert.equal(isRowFailure(drizzleError("54000", "index row size 3000 exceeds maximum 2704")), true);
  assert.equal(isRowFailure(drizzleError("23505", "duplicate key")), true);
  assert.equal(isRowFailure(drizzleError("08006", "connection failure")), false);
  assert.equal(isRowFailure(drizzleError("42703", "column does not exist")), false);
  assert.equal(isRowFailure(new Error("socket closed")), false);
});

Deno.test("rowFailureReason() is the server's message and the fix, never the query", () => {
  const reason = rowFailureReason(
    drizzleError("54000", "index row size 3000 exceeds btree version 4 maximum 2704"),
  );
  assert.equal(
    reason,
    "the database refused it (index row size 3000 exceeds btree version 4 maximum 2704): a value is too long: " +
      "shorten the file's path or its tags",
  );
  assert.doesNotMatch(rowFailureReason(drizzleError("22021", "0x00")), /insert into|params/);
});

Deno.test("databaseStep() turns a failure into one database_error sentence and lets domain errors and outages through", async () => {
  await assert.rejects(
    databaseStep(
      "store the catalog's tracks",
      () => Promise.reject(drizzleError("53100", "could not extend file: No space left on device")),
    ),
    (err) => {
      assert.ok(isSoundalikeError(err, "database_error"));
      assert.equal(
        err.message,
        "Could not store the catalog's tracks: could not extend file: No space left on device: check that the " +
          "database is running and reachable (DATABASE_URL), then run the reindex again; the current index keeps serving",
      );
      assert.equal(err.message.split("\n").length, 1);
      return true;
    },
  );
  // The server going away is left to the app's outage handling (core/db/health.ts).
  const shutdown = drizzleError("57P01", "terminating connection due to administrator command");
  await assert.rejects(databaseStep("x", () => Promise.reject(shutdown)), (err) => err === shutdown);
  const mine = new SoundalikeError("busy", "Another process is already running this");
  await assert.rejects(databaseStep("x", () => Promise.reject(mine)), (err) => err === mine);
  assert.equal(await databaseStep("x", () => Promise.resolve(7)), 7);
});
