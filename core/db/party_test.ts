import assert from "node:assert/strict";
import { withTestDatabases } from "../../tests/db_helpers.ts";
import type { NewPartyItem } from "../recommend/party.ts";
import { createPartyStore } from "./party.ts";

const shared = (title: string, vector: Float32Array): NewPartyItem => ({
  kind: "shared",
  trackId: null,
  title,
  artist: null,
  url: "https://youtu.be/x",
  durationSeconds: 30,
  by: "alice",
  vector,
  labels: [{ task: "genre", className: "jazz", probability: 0.8 }],
  similarity: null,
});

withTestDatabases("createPartyStore()", async ({ db, t }) => {
  const store = createPartyStore(db);
  const channel = { platform: "discord", channelId: "123" };

  await t.step("start() gives one party per channel; active() finds it", async () => {
    const party = await store.start(channel, "Friday", "alice");
    assert.ok(party);
    assert.equal(party.endedAt, null);
    assert.equal(await store.start(channel, "Again", "bob"), undefined, "a second start loses");
    assert.equal((await store.active(channel))?.name, "Friday");
    assert.equal(await store.active({ platform: "slack", channelId: "123" }), undefined);
    assert.ok(await store.start({ platform: "slack", channelId: "123" }, "Other", "carol"));
    assert.equal((await store.allActive()).length, 2);
  });

  await t.step("add() keeps items in order with their vectors and labels", async () => {
    const party = (await store.active(channel))!;
    const v = Float32Array.from({ length: 2304 }, (_, i) => i / 2304);
    await store.add(party.id, [shared("one", v), {
      ...shared("two", v),
      kind: "suggested",
      trackId: 7,
      vector: null,
      similarity: 88.5,
    }]);
    const items = await store.items(party.id);
    assert.deepEqual(items.map((i) => [i.kind, i.title, i.trackId]), [["shared", "one", null], [
      "suggested",
      "two",
      7,
    ]]);
    assert.deepEqual(items[0]!.vector, v);
    assert.equal(items[1]!.vector, null);
    assert.deepEqual(items[0]!.labels, [{ task: "genre", className: "jazz", probability: 0.8 }]);
    assert.equal(items[1]!.similarity, 88.5);
  });

  await t.step("end() ends once; idleSince() finds parties quiet since a time", async () => {
    const party = (await store.active(channel))!;
    const future = new Date(Date.now() + 60_000);
    assert.deepEqual((await store.idleSince(future)).map((p) => p.name).sort(), ["Friday", "Other"]);
    assert.deepEqual(await store.idleSince(new Date(Date.now() - 60_000)), []);
    const ended = await store.end(party.id);
    assert.ok(ended?.endedAt instanceof Date);
    assert.equal(await store.end(party.id), undefined, "a second stop loses");
    assert.equal(await store.active(channel), undefined);
    assert.ok(await store.start(channel, "Next week", "alice"), "a new party can start after the end");
  });
});
