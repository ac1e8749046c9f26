import assert from "node:assert/strict";
import type { BotServices } from "../context.ts";
import { runHelp } from "./help.ts";

const withStats = (
  stats: () => Promise<unknown>,
) => ({ app: { stats } } as unknown as Pick<BotServices, "app">);

Deno.test("runHelp() names the catalog, and answers without it when the database is down or slow", async () => {
  const up = await runHelp(
    withStats(() => Promise.resolve({ indexVersion: 4, indexedTracks: 120 })),
    "discord",
  );
  assert.equal(up.footer, "Catalog: 120 tracks · index v4");
  assert.ok(up.commands.some((c) => c.usage.includes("similar")));
  const empty = await runHelp(withStats(() => Promise.resolve({ indexVersion: undefined })), "slack");
  assert.match(empty.footer, /no index yet/);
  const down = await runHelp(withStats(() => Promise.reject(new Error("connection refused"))), "slack");
  assert.equal(down.footer, "Catalog details are unavailable right now");
  let release = () => {};
  const hung = new Promise((resolve) => (release = () => resolve({ indexVersion: 1, indexedTracks: 1 })));
  const slow = await runHelp(withStats(() => hung), "console");
  release();
  assert.equal(
    slow.footer,
    "Catalog details are unavailable right now",
    "answered without waiting for the database",
  );
});
