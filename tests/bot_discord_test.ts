/**
 * The real discord.js client against a local fake Discord (gateway + REST) and a local CDN, over a
 * really indexed catalog: what a person sees for `/similar`, "More like #n", the context-menu
 * command, autocomplete, `/reindex`, and every bad input of the chat issue.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startBot } from "../bot/bot.ts";
import { createMemoryLogger } from "../core/logger.ts";
import { openTestCatalog, writeFixtureAudio } from "./catalog_fixture.ts";
import { assertMentionsNobody, type RestCall, startDiscordFake } from "./fakes/discord_fake.ts";
import {
  attachment,
  autocomplete,
  buttonPress,
  messageCommand,
  similarCommand,
  slashCommand,
} from "./fakes/discord_requests.ts";
import { startFileServer } from "./fakes/file_server.ts";

const TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123";
const MANAGE_GUILD = "32";
const EPHEMERAL = 64;

type Body = Record<string, unknown> & {
  type?: number;
  content?: string;
  flags?: number;
  embeds?: {
    title?: string;
    url?: string;
    footer?: { text: string };
    fields?: { name: string; value: string }[];
  }[];
  components?: { components: { custom_id?: string; url?: string; label?: string; style?: number }[] }[];
  data?: { flags?: number; content?: string; choices?: { name: string; value: string }[] };
};

const bodyOf = (c: RestCall) => c.body as Body;

/** The "Find similar tracks" context-menu command on a message. */
const contextMenu = (target: Record<string, unknown>) => messageCommand("Find similar tracks", target);
const forToken = (token: string) => (c: RestCall) =>
  c.path.includes(`/${token}/`) || c.path.endsWith(`/${token}`);

Deno.test("Discord: /similar, More like, context menu, autocomplete, reindex and bad input, as a person sees them", async (t) => {
  const discord = startDiscordFake();
  const cdn = startFileServer();
  const { logger, records } = createMemoryLogger();
  const catalog = await openTestCatalog({
    tracks: 9,
    logger,
    env: {
      DISCORD_TOKEN: TOKEN,
      DISCORD_API_URL: discord.apiUrl,
      DISCORD_CDN_HOSTS: cdn.host,
      SOUNDALIKE_MAX_UPLOAD_MB: "5",
      SOUNDALIKE_BOT_RATE_PER_MINUTE: "1000",
    },
  });
  const bot = await startBot({ config: catalog.app.config, logger, app: catalog.app, progressIntervalMs: 0 });
  try {
    await discord.ready();
    const queryPath = join(catalog.dataDir, "query.mp3");
    await writeFixtureAudio(queryPath, 40);
    const query = await Deno.readFile(queryPath);
    const clipUrl = cdn.route("/attachments/1/2/query.mp3", { bytes: query, type: "audio/mpeg" });

    let firstTrackId = 0;
    await t.step(
      "/similar defers at once, then shows five cards with links and More-like buttons",
      async () => {
        const { token } = discord.interact(
          similarCommand(attachment(clipUrl, "query.mp3", "audio/mpeg", query.length)),
        );
        const deferred = await discord.waitFor((c) => forToken(token)(c) && c.path.endsWith("/callback"));
        assert.equal(bodyOf(deferred).type, 5, "a deferred 'thinking…' reply");
        const edit = bodyOf(await discord.waitFor((c) => forToken(token)(c) && c.method === "PATCH"));
        assert.match(edit.content!, /Tracks that sound like query\.mp3/);
        assert.match(edit.content!, /Sounds like .*mood/);
        assert.equal(edit.embeds!.length, 5);
        edit.embeds!.forEach((e, i) => {
          assert.match(e.title!, new RegExp(`^#${i + 1} Fixture Song \\d+$`));
          assert.match(e.url!, /^https:\/\/example\.org\/tracks\/track_\d+\.wav$/);
          assert.ok(e.fields!.some((f) => f.name === "Similarity" && / %$/.test(f.value)));
        });
        assert.match(
          edit.embeds![4]!.footer!.text,
          /^Answered in \d+\.\d\d s · flat index v1 · segment search$/,
        );
        const buttons = edit.components!.flatMap((r) => r.components);
        const more = buttons.filter((b) => b.custom_id?.startsWith("more:"));
        assert.deepEqual(more.map((b) => b.label), [1, 2, 3, 4, 5].map((n) => `More like #${n}`));
        assert.equal(
          buttons.filter((b) => b.style === 5 && b.url?.startsWith("https://example.org/")).length,
          5,
        );
        firstTrackId = Number(more[0]!.custom_id!.slice(5));
        assert.ok(cdn.requests.includes("/attachments/1/2/query.mp3"));
      },
    );

    await t.step("More like #1 answers from the stored vector, without the track itself", async () => {
      const { token } = discord.interact(
        buttonPress(`more:${firstTrackId}`, discord.message({ content: "previous answer" })),
      );
      const edit = bodyOf(await discord.waitFor((c) => forToken(token)(c) && c.method === "PATCH"));
      assert.match(edit.content!, /More like “Fixture Song \d+” by Fixture Artist \d/);
      assert.equal(edit.embeds!.length, 5);
      assert.ok(
        edit.components!.flatMap((r) => r.components).every((b) => b.custom_id !== `more:${firstTrackId}`),
      );
    });

    await t.step("the context-menu command finds the audio attachment of a message", async () => {
      const msgAtt = attachment(clipUrl, "query.mp3", "audio/mpeg", query.length);
      const target = discord.message({ attachments: [msgAtt] });
      const { token } = discord.interact(contextMenu(target));
      const edit = bodyOf(await discord.waitFor((c) => forToken(token)(c) && c.method === "PATCH"));
      assert.equal(edit.embeds!.length, 5);
    });

    await t.step("genre autocomplete lists the catalog's genres", async () => {
      const { token } = discord.interact(autocomplete("similar", "genre", "ja"));
      const reply = bodyOf(await discord.waitFor((c) => forToken(token)(c) && c.path.endsWith("/callback")));
      assert.equal(reply.type, 8);
      assert.deepEqual(reply.data!.choices, [{ name: "Jazz (3)", value: "Jazz" }]);
    });

    await t.step("a genre filter keeps only that genre's tracks", async () => {
      const { token } = discord.interact(similarCommand(
        attachment(clipUrl, "query.mp3", "audio/mpeg", query.length),
        [{ name: "genre", type: 3, value: "Hip-Hop" }, { name: "k", type: 4, value: 2 }],
      ));
      const edit = bodyOf(await discord.waitFor((c) => forToken(token)(c) && c.method === "PATCH"));
      assert.equal(edit.embeds!.length, 2);
      assert.ok(
        edit.embeds!.every((e) => e.fields!.some((f) => f.name === "Genre" && f.value === "Hip-Hop")),
      );
      assert.match(edit.content!, /Hip-Hop tracks only/);
    });

    const privateRefusal = async (payload: Record<string, unknown>, expected: RegExp) => {
      const { token } = discord.interact(payload);
      const reply = bodyOf(await discord.waitFor((c) => forToken(token)(c) && c.path.endsWith("/callback")));
      assert.equal(reply.type, 4, "answered at once, no 'thinking…'");
      assert.equal(reply.data!.flags! & EPHEMERAL, EPHEMERAL, "only the asker sees it");
      assert.match(reply.data!.content!, expected);
    };

    await t.step("refused at once and privately: non-audio, oversized, foreign host, bad start", async () => {
      const png = cdn.route("/attachments/1/3/cat.png", { bytes: new Uint8Array(10), type: "image/png" });
      await privateRefusal(
        similarCommand(attachment(png, "cat.png", "image/png", 10)),
        /cat\.png is image\/png, not audio/,
      );
      await privateRefusal(
        similarCommand(attachment(clipUrl, "huge.wav", "audio/wav", 200 * 1024 * 1024)),
        /huge\.wav is 200\.0 MB, more than the 5\.0 MB limit/,
      );
      await privateRefusal(
        similarCommand(attachment("https://evil.example/a.mp3", "a.mp3", "audio/mpeg", 100)),
        /only downloaded from Discord's CDN, not evil\.example/,
      );
      await privateRefusal(
        similarCommand(attachment(clipUrl, "query.mp3", "audio/mpeg", 100), [{
          name: "start",
          type: 3,
          value: "soon",
        }]),
        /can't read the start time "soon"/,
      );
      const noAudio = discord.message({ attachments: [] });
      await privateRefusal(contextMenu(noAudio), /That message has no audio attachment/);
    });

    const failsAfterDefer = async (payload: Record<string, unknown>, expected: RegExp) => {
      const { token } = discord.interact(payload);
      const follow = await discord.waitFor((c) =>
        forToken(token)(c) && c.method === "POST" && c.path.startsWith("/webhooks/")
      );
      const calls = discord.calls.filter(forToken(token));
      assert.equal(bodyOf(calls[0]!).type, 5, "deferred first");
      assert.ok(
        calls.some((c) => c.method === "DELETE"),
        "the public 'thinking…' is removed, never left spinning",
      );
      assert.equal(bodyOf(follow).flags! & EPHEMERAL, EPHEMERAL);
      assert.match(bodyOf(follow).content!, expected);
    };

    await t.step("failures after the defer end in a private, kind answer", async () => {
      const gone = `${cdn.origin}/attachments/9/9/expired.mp3`;
      await failsAfterDefer(
        similarCommand(attachment(gone, "expired.mp3", "audio/mpeg", 1000)),
        /no longer available \(HTTP 404/,
      );
      const page = cdn.route("/attachments/9/8/page.mp3", { html: "<!DOCTYPE html><html>Login</html>" });
      await failsAfterDefer(
        similarCommand(attachment(page, "page.mp3", "audio/mpeg", 1000)),
        /text\/html page, not audio/,
      );
      const junk = cdn.route("/attachments/9/7/junk.mp3", {
        bytes: new TextEncoder().encode("not really audio ".repeat(50)),
        type: "audio/mpeg",
      });
      await failsAfterDefer(similarCommand(attachment(junk, "junk.mp3", "audio/mpeg", 850)), /audio|read/i);
      await failsAfterDefer(buttonPress("more:987654", discord.message({})), /no longer in the catalog/);
    });

    await t.step(
      "/reindex: refused for non-managers, progress then a summary for managers, one at a time",
      async () => {
        const reindex = (perms: string, userId?: string) =>
          slashCommand("reindex", [], userId === undefined ? { perms } : { perms, userId });
        await privateRefusal(reindex("0"), /Only members who can manage this server/);
        const first = discord.interact(reindex(MANAGE_GUILD));
        const second = discord.interact(reindex(MANAGE_GUILD, "676767676767676767"));
        const started = bodyOf(
          await discord.waitFor((c) => forToken(first.token)(c) && c.path.endsWith("/callback")),
        );
        assert.equal(started.type, 4);
        assert.match(started.data!.content!, /Reindexing/);
        const busy = bodyOf(
          await discord.waitFor((c) => forToken(second.token)(c) && c.path.endsWith("/callback")),
        );
        assert.equal(busy.data!.flags! & EPHEMERAL, EPHEMERAL);
        assert.match(busy.data!.content!, /already running \(\d+ %/);
        const summary = await discord.waitFor((c) =>
          forToken(first.token)(c) && c.method === "PATCH" && (bodyOf(c).embeds?.length ?? 0) > 0
        );
        assert.equal(bodyOf(summary).embeds![0]!.title, "Reindex done: index v2");
        const progress = discord.calls.filter((c) =>
          forToken(first.token)(c) && c.method === "PATCH" &&
          /Reindexing `[▓░]+` \d+ %/.test(bodyOf(c).content ?? "")
        );
        assert.ok(progress.length >= 1, "progress edits before the summary");
        assert.ok(progress.every((p) => p.at < summary.at));
      },
    );

    await t.step("/help answers privately with the catalog's size", async () => {
      const { token } = discord.interact(slashCommand("help"));
      const reply = bodyOf(await discord.waitFor((c) => forToken(token)(c) && c.path.endsWith("/callback")));
      const data = reply.data as Body;
      assert.equal(data.flags! & EPHEMERAL, EPHEMERAL);
      assert.equal(data.embeds![0]!.title, "Soundalike");
      assert.equal(data.embeds![0]!.footer!.text, "Catalog: 9 tracks · index v2");
    });
  } finally {
    await bot.stop();
    await discord.close();
    await cdn.close();
    await catalog.close().catch(() => {});
  }
  assert.deepEqual(records.filter((r) => r.level === "error"), [], "no crash was logged");
  assert.ok(assertMentionsNobody(discord.calls) >= 10, "every reply, edit and follow-up");
});
