/**
 * A listening party on Discord, end to end: the real discord.js client against the local fake
 * gateway and REST, a local CDN and a local media site for yt-dlp, the catalog in a real
 * PostgreSQL database (PGlite when none answers), and a restart of the bot in the middle.
 */
import assert from "node:assert/strict";
import { startBot } from "../bot/bot.ts";
import { parseConfig } from "../core/config.ts";
import { createMemoryLogger } from "../core/logger.ts";
import { preparePartyWorld } from "./party_fixture.ts";
import { createPostgresTestDatabase, postgresUnavailable } from "./db_helpers.ts";
import {
  assertMentionsNobody,
  CHANNEL_ID,
  GUILD_ID,
  type RestCall,
  snowflake,
  startDiscordFake,
} from "./fakes/discord_fake.ts";
import { subcommand } from "./fakes/discord_requests.ts";
import { startFileServer } from "./fakes/file_server.ts";

const TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123";
const MANAGE_MESSAGES = "8192";
const EPHEMERAL = 64;

type Body = {
  type?: number;
  content?: string;
  flags?: number;
  embeds?: { title?: string; description?: string; fields?: { name: string; value: string }[] }[];
  data?: { content?: string; flags?: number; embeds?: Body["embeds"] };
};
const bodyOf = (c: RestCall) => c.body as Body;

const partyCommand = (sub: string, perms = MANAGE_MESSAGES, options: Record<string, unknown>[] = []) =>
  subcommand("party", sub, options, { perms, userId: "666666666666666601" });

const usePostgres = postgresUnavailable === null || Deno.env.get("SOUNDALIKE_REQUIRE_POSTGRES") === "1";

Deno.test(`Discord party: start, a shared file and link answered in threads, next, a restart, stop with playlists [${usePostgres ? "postgres" : "pglite"}]`, async (t) => {
  const discord = startDiscordFake();
  const cdn = startFileServer();
  const world = await preparePartyWorld();
  const { site } = world;
  const db = usePostgres ? await createPostgresTestDatabase() : undefined;
  const config = parseConfig({
    ...world.env,
    ...(db ? { DATABASE_URL: db.url } : {}),
    DISCORD_TOKEN: TOKEN,
    DISCORD_API_URL: discord.apiUrl,
    DISCORD_CDN_HOSTS: cdn.host,
  }, { cwd: Deno.cwd() });
  await world.index(config);
  const { logger, records } = createMemoryLogger();
  let bot = await startBot({ config, logger });
  try {
    await discord.ready();
    const bytes = await Deno.readFile(world.clip);
    const clipUrl = cdn.route("/attachments/7/7/shared.mp3", { bytes, type: "audio/mpeg" });

    const reply = async (payload: Record<string, unknown>) => {
      const { token } = discord.interact(payload);
      return bodyOf(
        await discord.waitFor((c) => c.path.includes(`/${token}/`) && c.path.endsWith("/callback")),
      );
    };

    await t.step("/party start needs Manage Messages, then opens the party", async () => {
      const refused = await reply(partyCommand("start", "0"));
      assert.equal(refused.data!.flags! & EPHEMERAL, EPHEMERAL);
      assert.match(refused.data!.content!, /Only members who can manage messages/);
      const started = await reply(
        partyCommand("start", MANAGE_MESSAGES, [{ name: "name", type: 3, value: "Friday" }]),
      );
      assert.equal(started.type, 4);
      assert.match(started.data!.content!, /“Friday” is on/);
    });

    const postMessage = (fields: Record<string, unknown>) => {
      const id = snowflake();
      discord.dispatch("MESSAGE_CREATE", {
        ...discord.message({
          id,
          channel_id: CHANNEL_ID,
          author: {
            id: "777777777777777701",
            username: "alice",
            discriminator: "0",
            avatar: null,
            global_name: "Alice",
          },
          ...fields,
        }),
        guild_id: GUILD_ID,
        member: {
          roles: [],
          joined_at: new Date().toISOString(),
          deaf: false,
          mute: false,
          flags: 0,
          nick: null,
        },
      });
      return id;
    };
    const threadCall = async (messageId: string) => {
      const thread = await discord.waitFor((c) =>
        c.method === "POST" && c.path === `/channels/${CHANNEL_ID}/messages/${messageId}/threads`
      );
      assert.ok(
        discord.calls.some((c) =>
          c.method === "PUT" && c.path.startsWith(`/channels/${CHANNEL_ID}/messages/${messageId}/reactions/`)
        ),
      );
      return await discord.waitFor((c) =>
        c.method === "POST" && c.at > thread.at && /^\/channels\/\d+\/messages$/.test(c.path) &&
        c.path !== `/channels/${CHANNEL_ID}/messages`
      );
    };
    const threadAnswer = async (messageId: string) => bodyOf(await threadCall(messageId));

    await t.step("a shared audio file is answered in a thread with five tracks", async () => {
      const id = postMessage({
        content: "this one!",
        attachments: [{
          id: snowflake(),
          filename: "shared.mp3",
          size: bytes.length,
          url: clipUrl,
          proxy_url: clipUrl,
          content_type: "audio/mpeg",
        }],
      });
      const answer = await threadAnswer(id);
      assert.match(answer.content!, /Party picks like shared\.mp3/);
      assert.equal(answer.embeds!.length, 5);
    });

    await t.step(
      "a shared link is fetched and answered in its thread; a message without audio is left alone",
      async () => {
        const quiet = postMessage({ content: "hello everyone" });
        const id = postMessage({ content: `listen: ${site.origin}/song.mp3` });
        const answer = await threadAnswer(id);
        assert.match(answer.content!, /Party picks like song/);
        assert.equal(answer.embeds!.length, 5);
        assert.ok(
          !discord.calls.some((c) => c.path.includes(`/messages/${quiet}/`)),
          "no reaction, no thread",
        );
      },
    );

    await t.step("a playlist link gets its reason in the thread", async () => {
      const id = postMessage({ content: `${site.origin}/list.html` });
      const answer = await threadAnswer(id);
      assert.match(answer.content!, /is a playlist: share one song's link/);
    });

    await t.step("/party next suggests one track with a reason", async () => {
      const { token } = discord.interact(partyCommand("next", "0"));
      const edit = bodyOf(
        await discord.waitFor((c) => c.path.includes(`/${token}/`) && c.method === "PATCH"),
      );
      assert.match(edit.content!, /Next for \*\*Friday\*\*/);
      assert.match(edit.embeds![0]!.description!, /like the party so far/);
    });

    await t.step("after a restart the party goes on", async () => {
      await bot.stop();
      bot = await startBot({ config, logger });
      await discord.ready();
      const status = await reply(partyCommand("status", "0"));
      const embed = status.data!.embeds![0]!;
      assert.equal(embed.title, "🎉 Friday");
      assert.deepEqual(embed.fields!.map((f) => [f.name, f.value]), [["Shared", "2"], ["Suggested", "10"], [
        "Picked",
        "1",
      ]]);
    });

    await t.step(
      "a shared link titled to ping everyone and a role is answered, mentioning nobody",
      async () => {
        const id = postMessage({ content: `${site.origin}/hostile.html` });
        const call = await threadCall(id);
        const answer = bodyOf(call);
        assert.match(answer.content!, /Party picks like @everyone <@&123> drop/);
        assert.deepEqual((call.body as { allowed_mentions?: unknown }).allowed_mentions, {
          parse: [],
          replied_user: false,
        });
      },
    );

    await t.step("/party stop posts the summary with the playlist files attached", async () => {
      const { token } = discord.interact(partyCommand("stop"));
      const call = await discord.waitFor((c) =>
        c.path.includes(`/${token}/`) && c.path.endsWith("/callback")
      );
      const data = bodyOf(call).data!;
      assert.match(data.embeds![0]!.title!, /Friday is over/);
      assert.equal(call.files.length, 2);
      assert.ok(call.files.some((f) => f.endsWith(".m3u")) && call.files.some((f) => f.endsWith(".csv")));
    });
  } finally {
    await bot.stop();
    await discord.close();
    await cdn.close();
    await world.close();
    await db?.drop();
  }
  assert.deepEqual(records.filter((r) => r.level === "error"), [], "no crash was logged");
  const checked = assertMentionsNobody(discord.calls);
  assert.ok(checked >= 8, `every reply, edit, follow-up and thread message (${checked} checked)`);
});
