import assert from "node:assert/strict";
import { SLACK_COMMANDS, SLACK_EVENTS, SLACK_SHORTCUT } from "./adapter.ts";

const manifest = JSON.parse(await Deno.readTextFile(new URL("./manifest.json", import.meta.url))) as {
  features: { slash_commands: { command: string }[]; shortcuts: { callback_id: string; type: string }[] };
  oauth_config: { scopes: { bot: string[] } };
  settings: { event_subscriptions: { bot_events: string[] }; interactivity: { is_enabled: boolean } };
};

Deno.test("the Slack app manifest declares exactly the commands, shortcut and events the adapter handles", () => {
  assert.deepEqual(manifest.features.slash_commands.map((c) => c.command).sort(), [...SLACK_COMMANDS].sort());
  assert.deepEqual(manifest.features.shortcuts.map((s) => [s.callback_id, s.type]), [[
    SLACK_SHORTCUT,
    "message",
  ]]);
  assert.deepEqual(manifest.settings.event_subscriptions.bot_events.sort(), [...SLACK_EVENTS].sort());
  assert.equal(manifest.settings.interactivity.is_enabled, true, "modals and buttons need interactivity");
});

Deno.test("the Slack app manifest asks for the scopes the adapter uses", () => {
  const scopes = manifest.oauth_config.scopes.bot;
  // files:read for url_private, chat:write to answer, app_mentions:read for mentions, commands for /similar,
  // users:read for the optional workspace-admin check of /reindex.
  // channels:history / groups:history and files:write for parties (messages in channels, playlist uploads).
  for (
    const s of [
      "files:read",
      "chat:write",
      "app_mentions:read",
      "commands",
      "users:read",
      "channels:history",
      "groups:history",
      "files:write",
    ]
  ) {
    assert.ok(scopes.includes(s), s);
  }
});
