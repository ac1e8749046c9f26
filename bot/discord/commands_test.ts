import assert from "node:assert/strict";
import { startDiscordFake } from "../../tests/fakes/discord_fake.ts";
import { discordCommands, FIND_SIMILAR, registerCommands } from "./commands.ts";

Deno.test("discordCommands() defines /similar's options, the context menu, and /reindex for managers only", () => {
  const [similar, menu, reindex, help, party] = discordCommands(7) as unknown as Record<string, unknown>[];
  const options = similar!.options as {
    name: string;
    type: number;
    required?: boolean;
    max_value?: number;
    autocomplete?: boolean;
  }[];
  assert.deepEqual(options.map((o) => [o.name, o.type]), [["clip", 11], ["k", 4], ["genre", 3], [
    "start",
    3,
  ]]);
  assert.equal(options[0]!.required, true);
  assert.equal(options[1]!.max_value, 7);
  assert.equal(options[2]!.autocomplete, true);
  assert.deepEqual([menu!.name, menu!.type], [FIND_SIMILAR, 3]);
  assert.equal(reindex!.default_member_permissions, "32", "Manage Server");
  assert.deepEqual(reindex!.contexts, [0], "servers only");
  assert.equal(help!.name, "help");
  const subs = party!.options as { name: string; type: number }[];
  assert.deepEqual(subs.map((o) => [o.name, o.type]), [["start", 1], ["next", 1], ["status", 1], [
    "stop",
    1,
  ]]);
});

Deno.test("registerCommands() asks Discord for the application id and overwrites one guild's commands", async () => {
  const fake = startDiscordFake();
  try {
    const report = await registerCommands(
      { token: "MTIz.GaBc.def", applicationId: undefined, apiUrl: fake.apiUrl, cdnHosts: [] },
      { guildId: "555555555555555555" },
    );
    assert.deepEqual(report, {
      applicationId: fake.applicationId,
      scope: "555555555555555555",
      commands: ["similar", FIND_SIMILAR, "reindex", "help", "party"],
    });
    const put = fake.calls.find((c) => c.method === "PUT")!;
    assert.equal(put.path, `/applications/${fake.applicationId}/guilds/555555555555555555/commands`);
    assert.equal((put.body as unknown[]).length, 5);
  } finally {
    await fake.close();
  }
});
