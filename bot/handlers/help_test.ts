import assert from "node:assert/strict";
import type { DatabaseState } from "../../core/app.ts";
import type { BotServices } from "../context.ts";
import { runHelp } from "./help.ts";

const withStats = (
  stats: () => Promise<unknown>,
  state: DatabaseState = { reachable: true },
) => ({ app: { stats, catalogState: () => state } } as unknown as Pick<BotServices, "app">);

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

Deno.test("runHelp() says how long the catalog's database has been unreachable", async () => {
  const refused = () => Promise.reject(new Error("The catalog is unreachable right now"));
  const since = new Date("2026-01-01T10:00:00Z");
  const state: DatabaseState = { reachable: false, since, host: "db:5432", reason: "ECONNREFUSED" };
  const at = (iso: string) => () => new Date(iso);
  const help = await runHelp(withStats(refused, state), "discord", at("2026-01-01T10:00:20Z"));
  assert.equal(
    help.footer,
    "The catalog has been unreachable for less than a minute: searches work again as soon as its database is back",
  );
  assert.doesNotMatch(help.footer, /db:5432|ECONNREFUSED/, "the host and code are for the operator's log");
  const later = await runHelp(withStats(refused, state), "slack", at("2026-01-01T12:07:00Z"));
  assert.match(later.footer, /^The catalog has been unreachable for 2 h 7 min:/);
});
