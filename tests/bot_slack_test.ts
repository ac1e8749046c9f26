/**
 * The real Bolt app receiving signed HTTP requests, its Web API client pointed at a local fake
 * Slack, over a really indexed catalog: mentions with files, the `/similar` modal, the message
 * shortcut, "More like #n", `/reindex`, retries, forged and replayed requests.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startBot } from "../bot/bot.ts";
import { createMemoryLogger } from "../core/logger.ts";
import { openTestCatalog, writeFixtureAudio } from "./catalog_fixture.ts";
import { sendSigned, type SlackCall, startSlackFake } from "./fakes/slack_fake.ts";
import {
  buttonPress,
  eventCallback,
  messageShortcut,
  slashCommand,
  viewSubmission,
} from "./fakes/slack_requests.ts";

const TOKEN = "xoxb-test-token";
const SECRET = "test-signing-secret";
const ADMIN = "UADMIN";

type Blocks = {
  type: string;
  text?: { text: string };
  elements?: { text?: string; value?: string; action_id?: string; url?: string }[];
}[];

const blocksText = (call: SlackCall) => JSON.stringify(call.body.blocks ?? []);

Deno.test("Slack: mentions, the /similar modal, shortcuts, More like, /reindex, retries and forgeries", async (t) => {
  const slack = startSlackFake(TOKEN);
  const { logger, records } = createMemoryLogger();
  const catalog = await openTestCatalog({
    tracks: 9,
    logger,
    env: {
      SLACK_BOT_TOKEN: TOKEN,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.apiUrl,
      SLACK_FILE_HOSTS: slack.host,
      SLACK_PORT: "0",
      SLACK_ADMIN_USER_IDS: ADMIN,
      SOUNDALIKE_BOT_RATE_PER_MINUTE: "1000",
    },
  });
  const bot = await startBot({ config: catalog.app.config, logger, app: catalog.app, progressIntervalMs: 0 });
  const events = `http://127.0.0.1:${bot.slack!.port}/slack/events`;
  const sign = { secret: SECRET };
  try {
    const queryPath = join(catalog.dataDir, "query.mp3");
    await writeFixtureAudio(queryPath, 40);
    const clip = slack.addFile("query.mp3", await Deno.readFile(queryPath), "audio/mpeg");
    assert.ok(slack.calls.some((c) => c.method === "auth.test"), "the token is checked once at start");

    const mention = (eventId: string, files: unknown[] | undefined, ts: string) =>
      eventCallback(eventId, {
        type: "app_mention",
        user: "U1",
        text: "<@UBOT> what is this like?",
        ts,
        channel: "C1",
        event_ts: ts,
        ...(files ? { files } : {}),
      });

    let moreValue = "";
    await t.step(
      "a mention with an audio file is answered in its thread: listening, then five cards",
      async () => {
        const res = await sendSigned(events, mention("Ev1", [clip], "1000.0001"), "json", sign);
        assert.equal(res.status, 200);
        const placeholder = await slack.waitFor((c) =>
          c.method === "chat.postMessage" && c.body.thread_ts === "1000.0001"
        );
        assert.match(String(placeholder.body.text), /Listening to query\.mp3/);
        const update = await slack.waitFor((c) =>
          c.method === "chat.update" && /Tracks that sound like/.test(String(c.body.text))
        );
        const blocks = update.body.blocks as Blocks;
        const text = blocksText(update);
        assert.match(text, /Sounds like/);
        assert.equal((text.match(/Fixture Song \d+/g) ?? []).length, 5);
        assert.equal(
          (text.match(/<https:\/\/example\.org\/tracks\/track_\d+\.wav\|#\d Fixture Song/g) ?? []).length,
          5,
        );
        const buttons = blocks.filter((b) => b.type === "actions").flatMap((b) => b.elements ?? []);
        assert.deepEqual(buttons.filter((b) => b.action_id?.startsWith("more_like_")).length, 5);
        moreValue = buttons[0]!.value!;
        assert.ok(slack.fileRequests.every((r) => r.auth === `Bearer ${TOKEN}`));
      },
    );

    await t.step(
      "an Events API retry of the same event is acknowledged and not processed twice",
      async () => {
        const before = slack.calls.filter((c) => c.method === "chat.postMessage").length;
        const res = await sendSigned(events, mention("Ev1", [clip], "1000.0001"), "json", {
          ...sign,
          retryNum: 1,
        });
        assert.equal(res.status, 200);
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(slack.calls.filter((c) => c.method === "chat.postMessage").length, before);
      },
    );

    await t.step("forged signatures and replayed timestamps are refused and do nothing", async () => {
      const before = slack.calls.length;
      const forged = await sendSigned(events, mention("Ev2", [clip], "1000.0002"), "json", {
        ...sign,
        signature: "v0=deadbeef",
      });
      assert.equal(forged.status, 401);
      const old = Math.floor(Date.now() / 1000) - 6 * 60;
      const replayed = await sendSigned(events, mention("Ev3", [clip], "1000.0003"), "json", {
        ...sign,
        timestamp: old,
      });
      assert.equal(replayed.status, 401);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(slack.calls.length, before);
    });

    await t.step("a mention without an audio file gets a hint, not an error", async () => {
      const doc = slack.addFile("notes.txt", new TextEncoder().encode("hello"), "text/plain");
      await sendSigned(events, mention("Ev4", [doc], "1000.0004"), "json", sign);
      const hint = await slack.waitFor((c) =>
        c.method === "chat.postMessage" && c.body.thread_ts === "1000.0004"
      );
      assert.match(String(hint.body.text), /Mention me in a message with an audio file/);
    });

    await t.step(
      "/similar opens a modal with a file input; submitting it posts the answer in the channel",
      async () => {
        const ack = await sendSigned(
          events,
          slashCommand(
            "/similar",
            "",
            { user: "U2", userName: "bob", channel: "C2" },
            `${slack.apiUrl}response`,
          ),
          "form",
          sign,
        );
        assert.equal(ack.status, 200);
        const open = await slack.waitFor((c) => c.method === "views.open");
        const view = open.body.view as {
          callback_id: string;
          private_metadata: string;
          blocks: { element: { type: string; options?: { value: string }[] } }[];
        };
        assert.equal(view.callback_id, "similar_modal");
        assert.equal(view.blocks[0]!.element.type, "file_input");
        assert.ok(JSON.stringify(view).includes("Jazz"), "the genre select lists the catalog's genres");
        const submitted = await sendSigned(
          events,
          viewSubmission({ ...view, id: "V1" }, {
            clip: { clip: { type: "file_input", files: [clip] } },
            k: { k: { type: "static_select", selected_option: { value: "3" } } },
            genre: { genre: { type: "static_select", selected_option: null } },
            start: { start: { type: "plain_text_input", value: "0:02" } },
          }, { user: "U2", userName: "bob" }),
          "form",
          sign,
        );
        assert.equal(submitted.status, 200);
        const update = await slack.waitFor((c) => c.method === "chat.update" && c.body.channel === "C2");
        assert.equal((blocksText(update).match(/More like #\d/g) ?? []).length, 3);
        assert.match(blocksText(update), /from 0:02/);
      },
    );

    await t.step("a modal submitted without a file keeps the modal open with the field's error", async () => {
      const res = await sendSigned(
        events,
        viewSubmission(
          { id: "V3", callback_id: "similar_modal", private_metadata: JSON.stringify({ channel: "C3" }) },
          { clip: { clip: { type: "file_input", files: [] } } },
          { user: "U3", userName: "carol" },
        ),
        "form",
        sign,
      );
      assert.deepEqual(JSON.parse(res.text), {
        response_action: "errors",
        errors: { clip: "Upload an audio clip (MP3, OGG, WAV, FLAC, M4A…)" },
      });
    });

    await t.step("a submitted modal with a non-audio file is refused privately", async () => {
      const pdf = slack.addFile("paper.pdf", new Uint8Array(100), "application/pdf");
      await sendSigned(
        events,
        viewSubmission(
          { id: "V2", callback_id: "similar_modal", private_metadata: JSON.stringify({ channel: "C3" }) },
          { clip: { clip: { type: "file_input", files: [pdf] } } },
          { user: "U3", userName: "carol" },
        ),
        "form",
        sign,
      );
      const eph = await slack.waitFor((c) => c.method === "chat.postEphemeral" && c.body.user === "U3");
      assert.match(String(eph.body.text), /paper\.pdf is application\/pdf, not audio/);
    });

    await t.step(
      "the message shortcut answers in the thread; on a message without audio, privately",
      async () => {
        const shortcut = (files: unknown[], ts: string, user: string) =>
          messageShortcut(
            "find_similar",
            { user: "U9", ts, text: "listen", files },
            { user, userName: user, channel: "C4" },
            `${slack.apiUrl}response`,
          );
        await sendSigned(events, shortcut([clip], "2000.0001", "U4"), "form", sign);
        const answer = await slack.waitFor((c) => c.method === "chat.update" && c.body.channel === "C4");
        assert.equal((blocksText(answer).match(/Fixture Song/g) ?? []).length, 5);
        assert.ok(
          slack.calls.some((c) => c.method === "chat.postMessage" && c.body.thread_ts === "2000.0001"),
        );
        await sendSigned(events, shortcut([], "2000.0002", "U5"), "form", sign);
        const eph = await slack.waitFor((c) => c.method === "chat.postEphemeral" && c.body.user === "U5");
        assert.match(String(eph.body.text), /That message has no audio file/);
      },
    );

    await t.step("More like #1 answers from the stored vector in the same thread", async () => {
      await sendSigned(
        events,
        buttonPress(
          { actionId: "more_like_1", value: moreValue },
          { ts: "1000.5", thread_ts: "1000.0001", text: "answer" },
          { user: "U1", userName: "alice", channel: "C1" },
        ),
        "form",
        sign,
      );
      const answer = await slack.waitFor((c) =>
        c.method === "chat.update" && /More like “/.test(String(c.body.text))
      );
      assert.equal((blocksText(answer).match(/More like #\d/g) ?? []).length, 5);
    });

    await t.step("/reindex: refused for non-admins, progress then a summary for admins", async () => {
      const command = (user: string) =>
        slashCommand("/reindex", "", { user, userName: user, channel: "C5" }, `${slack.apiUrl}response`);
      await sendSigned(events, command("UNOBODY"), "form", sign);
      const refusal = await slack.waitFor((c) =>
        c.method === "chat.postEphemeral" && c.body.user === "UNOBODY"
      );
      assert.match(String(refusal.body.text), /Only the bot's admins can rebuild the catalog/);
      await sendSigned(events, command(ADMIN), "form", sign);
      const summary = await slack.waitFor((c) =>
        c.method === "chat.update" && /Reindex done: 9 tracks in index v2/.test(String(c.body.text))
      );
      const progress = slack.calls.filter((c) =>
        c.body.channel === "C5" && /Reindexing \d+ %/.test(String(c.body.text)) && c.at <= summary.at
      );
      assert.ok(progress.length >= 2, `a progress message and updates (${progress.length})`);
    });

    await t.step("/soundalike shows the help privately", async () => {
      const res = await sendSigned(
        events,
        slashCommand("/soundalike", "", { user: "U1", channel: "C1" }, `${slack.apiUrl}response`),
        "form",
        sign,
      );
      const body = JSON.parse(res.text) as { response_type: string; blocks: unknown[] };
      assert.equal(body.response_type, "ephemeral");
      assert.match(JSON.stringify(body.blocks), /\/similar/);
    });
  } finally {
    await bot.stop();
    await slack.close();
    await catalog.close().catch(() => {});
  }
  assert.deepEqual(records.filter((r) => r.level === "error"), [], "no crash was logged");
});
