/**
 * A listening party on Slack, end to end: the real Bolt app receiving signed requests, its Web API
 * client on the local fake Slack (files served from `url_private` with the token, playlists uploaded
 * with `files.uploadV2`), a local media site for yt-dlp, and a restart in the middle (PGlite).
 */
import assert from "node:assert/strict";
import { startBot } from "../bot/bot.ts";
import { parseConfig } from "../core/config.ts";
import { createMemoryLogger } from "../core/logger.ts";
import { preparePartyWorld } from "./party_fixture.ts";
import { sendSigned, type SlackCall, startSlackFake } from "./fakes/slack_fake.ts";
import { eventCallback, slashCommand } from "./fakes/slack_requests.ts";

const TOKEN = "xoxb-party-token";
const SECRET = "party-secret";
const blocksText = (c: SlackCall) => JSON.stringify(c.body.blocks ?? []);

Deno.test("Slack party: /party start, shared file and link answered in threads, next, a restart, stop with playlist uploads", async (t) => {
  const slack = startSlackFake(TOKEN);
  const world = await preparePartyWorld();
  const { site } = world;
  const config = parseConfig({
    ...world.env,
    SLACK_BOT_TOKEN: TOKEN,
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: slack.apiUrl,
    SLACK_FILE_HOSTS: slack.host,
    SLACK_PORT: "0",
  }, { cwd: Deno.cwd() });
  await world.index(config);
  const { logger, records } = createMemoryLogger();
  let bot = await startBot({ config, logger });
  const events = () => `http://127.0.0.1:${bot.slack!.port}/slack/events`;
  const sign = { secret: SECRET };
  const party = (text: string, user = "U1") =>
    sendSigned(
      events(),
      slashCommand("/party", text, { user, channel: "CPARTY" }, `${slack.apiUrl}response`),
      "form",
      sign,
    );
  let eventNo = 0;
  const message = (fields: Record<string, unknown>) => {
    const ts = `3000.${String(++eventNo).padStart(4, "0")}`;
    return {
      ts,
      sent: sendSigned(
        events(),
        eventCallback(`EvParty${eventNo}`, {
          type: "message",
          user: "U2",
          channel: "CPARTY",
          ts,
          event_ts: ts,
          text: "",
          ...fields,
        }),
        "json",
        sign,
      ),
    };
  };
  try {
    const file = slack.addFile("shared.mp3", await Deno.readFile(world.clip), "audio/mpeg");

    await t.step("/party start opens the party in the channel", async () => {
      await party("start Office hours");
      const posted = await slack.waitFor((c) =>
        c.method === "chat.postMessage" && /“Office hours” is on/.test(String(c.body.text))
      );
      assert.equal(posted.body.channel, "CPARTY");
      await party("start Again");
      const busy = await slack.waitFor((c) =>
        c.method === "chat.postEphemeral" && /already on/.test(String(c.body.text))
      );
      assert.equal(busy.body.user, "U1");
    });

    await t.step("a shared file and a shared link are answered in their threads", async () => {
      const shared = message({ subtype: "file_share", files: [file], text: "new tune" });
      await shared.sent;
      const a = await slack.waitFor((c) => c.method === "chat.postMessage" && c.body.thread_ts === shared.ts);
      assert.match(String(a.body.text), /Party picks like shared\.mp3/);
      assert.equal((blocksText(a).match(/More like #\d/g) ?? []).length, 5);
      const linked = message({ text: `try <${site.origin}/song.mp3>` });
      await linked.sent;
      const b = await slack.waitFor((c) => c.method === "chat.postMessage" && c.body.thread_ts === linked.ts);
      assert.match(String(b.body.text), /Party picks like song/);
      const quiet = message({ text: "lunch?" });
      await quiet.sent;
      const bot = message({ text: `${site.origin}/song.mp3`, bot_id: "B1" });
      await bot.sent;
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(!slack.calls.some((c) => c.body.thread_ts === quiet.ts || c.body.thread_ts === bot.ts));
    });

    await t.step("/party next, then a restart, then /party status", async () => {
      await party("next");
      const next = await slack.waitFor((c) =>
        c.method === "chat.postMessage" && /^Next for Office hours/.test(String(c.body.text))
      );
      assert.match(blocksText(next), /like the party so far/);
      await bot.stop();
      bot = await startBot({ config, logger });
      await party("status");
      const status = await slack.waitFor((c) =>
        c.method === "chat.postMessage" &&
        /^Office hours: 2 shared, 10 suggested, 1 picked/.test(String(c.body.text))
      );
      assert.ok(status);
    });

    await t.step(
      "/party stop posts the summary and uploads the M3U and CSV playlists in its thread",
      async () => {
        await party("stop");
        const summary = await slack.waitFor((c) =>
          c.method === "chat.postMessage" && /Office hours is over/.test(String(c.body.text))
        );
        assert.match(blocksText(summary), /Leading genres/);
        const done = await slack.waitFor((c) => c.method === "files.completeUploadExternal");
        assert.equal(done.body.channel_id, "CPARTY");
        assert.deepEqual(slack.uploads.map((u) => u.name.split(".").pop()).sort(), ["csv", "m3u"]);
        const m3u = slack.uploads.find((u) => u.name.endsWith(".m3u"))!;
        assert.match(m3u.content, /#EXTM3U[\s\S]*https:\/\/example\.org\/tracks\/track_\d+\.wav/);
      },
    );
  } finally {
    await bot.stop();
    await slack.close();
    await world.close();
  }
  assert.deepEqual(records.filter((r) => r.level === "error"), [], "no crash was logged");
});
