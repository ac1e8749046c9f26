import assert from "node:assert/strict";
import { ErrorCode, isSoundalikeError, SoundalikeError } from "../errors.ts";
import { createMemoryLogger } from "../logger.ts";
import { CatalogUnreachableError, connectionFailureCode, createDatabaseHealth } from "./health.ts";

const coded = (code: string, message = code) => Object.assign(new Error(message), { code });
/** What drizzle throws: the SQL and its parameters in the message, the driver's error as the cause. */
const failedQuery = (cause: unknown) =>
  new Error('Failed query: select "title" from "tracks" where "id" = $1\nparams: 42', { cause });

Deno.test("connectionFailureCode() finds a lost or refused connection under drizzle's wrapper, and nothing else", () => {
  assert.equal(connectionFailureCode(failedQuery(coded("ECONNREFUSED"))), "ECONNREFUSED");
  assert.equal(connectionFailureCode(failedQuery(coded("CONNECTION_CLOSED"))), "CONNECTION_CLOSED");
  assert.equal(connectionFailureCode(failedQuery(coded("57P01", "terminating connection"))), "57P01");
  assert.equal(connectionFailureCode(coded("08006", "connection failure")), "08006");
  assert.equal(
    connectionFailureCode(new AggregateError([new Error("x"), coded("ECONNREFUSED")], "connect failed")),
    "ECONNREFUSED",
  );
  assert.equal(connectionFailureCode(new CatalogUnreachableError("db:5432", "ETIMEDOUT")), "ETIMEDOUT");
  // This process closing its own pool, and the server refusing a row, are no outage.
  assert.equal(connectionFailureCode(failedQuery(coded("CONNECTION_ENDED"))), undefined);
  assert.equal(connectionFailureCode(failedQuery(coded("23505", "duplicate key"))), undefined);
  assert.equal(connectionFailureCode(new Error("boom")), undefined);
  assert.equal(connectionFailureCode("not an error"), undefined);
  // Another system's refused connection, already told apart as a domain error, is not the database.
  const queueDown = new SoundalikeError(ErrorCode.IndexFailed, "The workers could not embed a batch", {
    cause: coded("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:6379"),
  });
  assert.equal(connectionFailureCode(queueDown), undefined);
});

Deno.test("DatabaseHealth.guard() logs an outage once, answers it kindly, and logs the return once", async () => {
  const { logger, records } = createMemoryLogger();
  let serverUp = false;
  let clock = new Date("2026-01-01T10:00:00Z");
  const health = createDatabaseHealth({
    host: "db.internal:5432",
    logger,
    ping: () => (serverUp ? Promise.resolve() : Promise.reject(coded("ECONNREFUSED"))),
    now: () => clock,
  });
  const refused = () =>
    Promise.reject(failedQuery(coded("ECONNREFUSED", "connect ECONNREFUSED 10.0.0.5:5432")));

  assert.deepEqual(health.state(), { reachable: true });
  for (let i = 0; i < 3; i++) {
    await assert.rejects(health.guard(refused), (err) => {
      assert.ok(isSoundalikeError(err, "catalog_unreachable"));
      assert.equal(
        err.message,
        "The catalog is unreachable right now (its database does not answer): try again in a minute",
      );
      assert.doesNotMatch(err.message, /select|params|10\.0\.0\.5/);
      assert.equal(
        (err as CatalogUnreachableError).operatorMessage,
        "The catalog database at db.internal:5432 does not answer (ECONNREFUSED): start it or check " +
          "DATABASE_URL, then try again",
      );
      return true;
    });
  }
  assert.deepEqual(records, [{
    level: "warn",
    msg: "The catalog database at db.internal:5432 does not answer: requests are refused until it is back",
    ctx: { host: "db.internal:5432", code: "ECONNREFUSED" },
  }]);
  assert.deepEqual(health.state(), {
    reachable: false,
    since: new Date("2026-01-01T10:00:00Z"),
    host: "db.internal:5432",
    reason: "ECONNREFUSED",
  });

  // Other failures pass unchanged and change nothing; a success that did not reach the server
  // (the ping still fails) does not end the outage.
  const bad = coded("23505", "duplicate key");
  await assert.rejects(health.guard(() => Promise.reject(bad)), (err) => err === bad);
  assert.equal(await health.guard(() => Promise.resolve("cached")), "cached");
  assert.equal(health.state().reachable, false);
  assert.equal(records.length, 1);

  serverUp = true;
  clock = new Date("2026-01-01T10:01:30Z");
  const answers = await Promise.all([1, 2, 3].map((n) => health.guard(() => Promise.resolve(n))));
  assert.deepEqual(answers, [1, 2, 3]);
  assert.deepEqual(health.state(), { reachable: true });
  assert.deepEqual(records.slice(1), [{
    level: "info",
    msg: "The catalog database at db.internal:5432 answers again after 90 s",
    ctx: { host: "db.internal:5432" },
  }]);
});
