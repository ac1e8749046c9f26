import assert from "node:assert/strict";
import type { App } from "../../core/app.ts";
import { silentLogger } from "../../core/logger.ts";
import type { Answer, ReindexProgressAnswer } from "../answer.ts";
import type { Requester } from "../context.ts";
import { type ReindexBoard, ReindexRunner } from "./reindex.ts";

const admin: Requester = { platform: "console", userId: "1", name: "alice", isAdmin: true } as Requester;

/** An app whose update() counts its calls and succeeds at once. */
function fakeApp() {
  const calls: (string | undefined)[] = [];
  const app = {
    config: { catalogDir: "/catalog", catalogIsFma: false },
    update: (dir: string | undefined) => {
      calls.push(dir);
      return Promise.resolve({
        summary: { stored: 3, removed: 0, duplicates: [], skipped: [], indexVersion: 2 },
        reindex: { embedded: 3, cached: 0 },
      });
    },
  } as unknown as Pick<App, "update" | "config">;
  return { app, calls };
}

/** A board that answers `claim` as told and records the rest. */
function fakeBoard(claim: () => Promise<ReindexProgressAnswer | undefined>) {
  const log: string[] = [];
  const board: ReindexBoard = {
    claim: () => (log.push("claim"), claim()),
    update: () => (log.push("update"), Promise.resolve()),
    release: () => (log.push("release"), Promise.resolve()),
  };
  return { board, log };
}

const elsewhere: ReindexProgressAnswer = {
  kind: "reindex_progress",
  stage: "embedding",
  done: 5,
  total: 10,
  percent: 54,
  etaSeconds: undefined,
  startedBy: "bob",
};

Deno.test("ReindexRunner.start(): another chat process's run refuses /reindex before anything is shown as started", async () => {
  const { app, calls } = fakeApp();
  const { board, log } = fakeBoard(() => Promise.resolve(elsewhere));
  const runner = new ReindexRunner(app, silentLogger, { board });
  const shown: Answer[] = [];
  const run = await runner.start({ requester: admin }, (a) => void shown.push(a));
  assert.equal(run.started, false);
  assert.equal(run.answer.kind, "notice");
  assert.match(
    (run.answer as { text: string }).text,
    /^A reindex is already running \(54 %, embedding, started by bob through another bot process\)/,
  );
  assert.deepEqual(shown, []);
  assert.deepEqual(calls, [], "nothing was reindexed");
  assert.deepEqual(log, ["claim"], "the other run's claim is left alone");
  assert.equal(runner.current, undefined);
});

Deno.test("ReindexRunner.start(): a board that fails or does not answer in time does not stop /reindex", async () => {
  const boards = [
    fakeBoard(() => Promise.reject(new Error("Redis down"))),
    fakeBoard(() => new Promise(() => {})), // never answers
  ];
  for (const { board, log } of boards) {
    const { app, calls } = fakeApp();
    const runner = new ReindexRunner(app, silentLogger, { board, boardWaitMs: 50 });
    const run = await runner.start({ requester: admin }, () => {});
    assert.ok(run.started);
    const summary = await run.done;
    assert.ok(summary.ok, summary.error ?? "");
    assert.equal(summary.indexedTracks, 3);
    assert.deepEqual(calls, ["/catalog"]);
    assert.equal(log.at(-1), "release");
  }
});

Deno.test("ReindexRunner.start(): a second /reindex in this process while the board is asked hears 'already running'", async () => {
  const { app } = fakeApp();
  let answer!: (v: undefined) => void;
  const { board } = fakeBoard(() => new Promise((r) => (answer = r)));
  const runner = new ReindexRunner(app, silentLogger, { board });
  const first = runner.start({ requester: admin }, () => {});
  const second = await runner.start({ requester: { ...admin, name: "carol" } }, () => {});
  assert.equal(second.started, false);
  assert.match(
    (second.answer as { text: string }).text,
    /already running \(0 %, reading the catalog, started by alice\)/,
  );
  answer(undefined);
  const run = await first;
  assert.ok(run.started);
  assert.ok((await run.done).ok);
});

Deno.test("ReindexRunner.start(): a shutdown while the board is asked starts nothing and frees the board", async () => {
  const { app, calls } = fakeApp();
  let answer!: (v: undefined) => void;
  const { board, log } = fakeBoard(() => new Promise((r) => (answer = r)));
  const runner = new ReindexRunner(app, silentLogger, { board });
  const starting = runner.start({ requester: admin }, () => {});
  const stopped = runner.stop();
  answer(undefined);
  await stopped;
  const run = await starting;
  assert.equal(run.started, false);
  assert.match((run.answer as { text: string }).text, /restart/i);
  assert.deepEqual(calls, []);
  assert.deepEqual(log, ["claim", "release"]);
  assert.equal(runner.current, undefined);
});
