/**
 * Listening parties through the platform-neutral handlers, over a really indexed catalog, real
 * yt-dlp against a local media site, and the database: the whole flow, every bad link, a restart in
 * the middle (the party lives on in the database), and an idle party ending with its summary.
 */
import assert from "node:assert/strict";
import type { SimilarAnswer } from "../bot/answer.ts";
import type { BotServices } from "../bot/context.ts";
import {
  endIdleParties,
  partyNext,
  type PartyRequest,
  partyShare,
  partyStart,
  partyStatus,
  partyStop,
} from "../bot/handlers/party.ts";
import { ReindexRunner } from "../bot/handlers/reindex.ts";
import { RateLimiter } from "../bot/rate_limit.ts";
import { WorkQueue } from "../bot/work_queue.ts";
import { type App, createApp } from "../core/app.ts";
import { parseConfig } from "../core/config.ts";
import { parseCsv } from "../core/catalog/csv.ts";
import { silentLogger } from "../core/logger.ts";
import { preparePartyWorld } from "./party_fixture.ts";
import { writeFixtureAudio } from "./catalog_fixture.ts";
import { join } from "node:path";

const hasYtDlp = await new Deno.Command("yt-dlp", { args: ["--version"], stdout: "null", stderr: "null" })
  .output().then((o) => o.success).catch(() => false);

async function servicesFor(app: App): Promise<BotServices> {
  return {
    app,
    queue: new WorkQueue({ concurrency: 1, capacity: 20 }),
    limiter: new RateLimiter({ limit: 1000, windowMs: 60_000 }),
    reindex: new ReindexRunner(app, silentLogger),
    parties: await app.parties(),
    logger: silentLogger,
    signal: new AbortController().signal,
  };
}

const alice = { platform: "console" as const, userId: "alice", name: "alice", isAdmin: false };
const channel = { platform: "console", channelId: "room-1" };
const host: PartyRequest = { requester: alice, channel, canHost: true };
const guest: PartyRequest = { requester: { ...alice, userId: "bob", name: "bob" }, channel, canHost: false };

Deno.test({
  name:
    "party: start, shares (file and link), bad links, next, status, a restart, stop with playlists, idle end",
  ignore: !hasYtDlp,
  async fn(t) {
    const world = await preparePartyWorld("shared.wav");
    const { site } = world;
    const env = {
      ...world.env,
      SOUNDALIKE_LINK_HOSTS: `${site.host},localhost:${site.host.split(":")[1]},10.0.0.7,unlisted.example`,
      SOUNDALIKE_PARTY_IDLE_MINUTES: "30",
    };
    const config = parseConfig(env, { cwd: Deno.cwd() });
    let app = createApp(config, silentLogger);
    try {
      await app.update(world.catalogDir);
      let services = await servicesFor(app);
      const clip = world.clip;
      const fileRef = {
        name: "shared.wav",
        size: undefined,
        contentType: undefined,
        location: { kind: "path" as const, path: clip },
      };

      await t.step("only hosts start a party; one party per channel", async () => {
        assert.equal((await partyStart(services, guest)).code, "forbidden");
        const started = await partyStart(services, host, "Friday night");
        assert.equal(started.code, "party_started");
        assert.match(started.text, /“Friday night” is on/);
        assert.match((await partyStart(services, host, "Another")).text, /“Friday night” is already on/);
      });

      const suggested = new Set<number>();
      await t.step("a shared file is answered with five tracks and joins the party", async () => {
        const [answer] = await partyShare(services, {
          requester: alice,
          channel,
          clips: [fileRef],
          links: [],
        });
        assert.equal(answer?.kind, "similar");
        const tracks = (answer as SimilarAnswer).tracks;
        assert.equal(tracks.length, 5);
        assert.match((answer as SimilarAnswer).heading, /Party picks like shared\.wav/);
        tracks.forEach((tr) => suggested.add(tr.trackId));
      });

      await t.step(
        "a shared link is fetched with yt-dlp and answered with five tracks not suggested yet",
        async () => {
          const [answer] = await partyShare(services, {
            requester: alice,
            channel,
            clips: [],
            links: [`${site.origin}/song.mp3`],
          });
          assert.equal(answer?.kind, "similar", JSON.stringify(answer));
          const tracks = (answer as SimilarAnswer).tracks;
          assert.equal(tracks.length, 5);
          for (const tr of tracks) assert.ok(!suggested.has(tr.trackId), "never suggested twice in a party");
          tracks.forEach((tr) => suggested.add(tr.trackId));
        },
      );

      await t.step("every bad link is refused with its reason, and the party goes on", async () => {
        const before = (await partyStatus(services, host)) as { shared: number };
        const cases: [string, RegExp][] = [
          ["--exec=touch /tmp/soundalike-pwned", /an option, not a link/],
          ["file:///etc/passwd", /Only http\(s\) links/],
          [`http://localhost:${site.host.split(":")[1]}/song.mp3`, /local address/],
          ["http://10.0.0.7/song.mp3", /private network address/],
          [
            `${site.origin}/to-private`,
            /redirects elsewhere: 10\.0\.0\.7 leads to a private network address/,
          ],
          ["https://not-allowed.example/song", /don't fetch links from not-allowed\.example/],
          [`${site.origin}/list.html`, /is a playlist/],
          [`${site.origin}/long.html`, /62 min long, more than 15 min/],
          [`${site.origin}/nothing.html`, /not supported/],
        ];
        for (const [link, reason] of cases) {
          const answers = await partyShare(services, { requester: alice, channel, clips: [], links: [link] });
          assert.equal(answers.length, 1, link);
          assert.equal(answers[0]!.kind, "notice", link);
          assert.match((answers[0] as { text: string }).text, reason, link);
        }
        await assert.rejects(Deno.stat("/tmp/soundalike-pwned"), Deno.errors.NotFound);
        // An attachment is judged by its declared size and type before anything is downloaded (the
        // URL below would fail differently if it were fetched).
        const declared = (name: string, size: number, contentType: string) => ({
          name,
          size,
          contentType,
          location: {
            kind: "url" as const,
            url: "https://cdn.invalid/huge.mp3",
            policy: { allowedHosts: ["cdn.invalid"], maxBytes: 50 * 1024 * 1024, timeoutMs: 1000 },
          },
        });
        for (
          const [clip, reason] of [
            [declared("huge.mp3", 5 * 1024 ** 3, "audio/mpeg"), /huge\.mp3 is 5120\.0 MB, more than the/],
            [declared("notes.pdf", 1000, "application/pdf"), /notes\.pdf is application\/pdf, not audio/],
          ] as const
        ) {
          const answers = await partyShare(services, { requester: alice, channel, clips: [clip], links: [] });
          assert.equal(answers[0]!.kind, "notice");
          assert.match((answers[0] as { text: string }).text, reason);
        }
        const after = (await partyStatus(services, host)) as { shared: number };
        assert.equal(after.shared, before.shared, "nothing half-written");
        assert.deepEqual(
          await partyShare(services, { requester: alice, channel, clips: [], links: [] }),
          [],
          "a message without audio is left alone",
        );
      });

      await t.step("next picks a track not shared or suggested, with a reason", async () => {
        const next = await partyNext(services, host);
        assert.equal(next.kind, "party_next", JSON.stringify(next));
        if (next.kind !== "party_next") return;
        assert.ok(!suggested.has(next.track.trackId));
        assert.match(next.reason, /like the party so far/);
        suggested.add(next.track.trackId);
      });

      await t.step("the party survives a restart: same history, same vibe", async () => {
        const before = await partyStatus(services, host);
        assert.equal(before.kind, "party_status");
        await app.close();
        app = createApp(config, silentLogger);
        services = await servicesFor(app);
        const status = await partyStatus(services, host);
        assert.equal(status.kind, "party_status");
        if (status.kind !== "party_status") return;
        assert.deepEqual([status.name, status.shared, status.suggested, status.picked], [
          "Friday night",
          2,
          10,
          1,
        ]);
        // The vibe is what the shared clips' cards named (only labels the calibrated models are
        // confident of): the same before and after the restart, at most one leader per model.
        if (before.kind === "party_status") assert.deepEqual(status.leading, before.leading);
        assert.ok(status.leading.length >= 1 && status.leading.length <= 3, JSON.stringify(status.leading));
        const next = await partyNext(services, host);
        assert.equal(next.kind, "party_next");
        if (next.kind === "party_next") assert.ok(!suggested.has(next.track.trackId));
      });

      await t.step(
        "only hosts stop it; the summary carries M3U and CSV playlists with the tracks' links",
        async () => {
          assert.equal((await partyStop(services, guest)).kind, "notice");
          const status = await partyStatus(services, host);
          assert.equal(status.kind, "party_status");
          const summary = await partyStop(services, host);
          assert.equal(summary.kind, "party_summary");
          if (summary.kind !== "party_summary" || status.kind !== "party_status") return;
          // The status shows how much of the party its leaders are, as the summary does: for genre and
          // mood, the summary's first entry is the status's leader, and a model whose labels no card
          // showed (the calibrated models were not confident) has neither.
          const leading = status.leading;
          for (const [task, list] of [["genre", summary.genres], ["emotion", summary.moods]] as const) {
            const leader = leading.find((l) => l.task === task);
            assert.deepEqual(
              leader === undefined ? undefined : [leader.label, leader.probability],
              list[0] === undefined ? undefined : [list[0].label, list[0].share],
              task,
            );
          }
          assert.ok(
            leading.every((l) => l.task === "instrument") ||
              summary.genres.length + summary.moods.length > 0,
          );
          assert.equal(summary.ended, "stopped");
          assert.deepEqual(summary.shared.map((s) => s.title), ["shared.wav", "song"]);
          assert.equal(summary.suggested, 10);
          assert.equal(summary.picked, 2);
          const [m3u, csv] = summary.files;
          assert.match(m3u!.name, /^friday-night-\d{4}-\d\d-\d\d-\d+\.m3u$/);
          assert.equal(
            (m3u!.content.match(/https:\/\/example\.org\/tracks\/track_\d+\.wav/g) ?? []).length,
            12,
          );
          const rows = parseCsv(csv!.content);
          assert.equal(rows.length, 1 + 2 + 10 + 2);
          assert.deepEqual(rows[1]!.slice(1, 3), ["shared", "shared.wav"]);
          assert.equal(
            (await partyStop(services, host)).kind,
            "notice",
            "stopping twice says no party is on",
          );
        },
      );

      await t.step("a quiet party ends by itself with its summary", async () => {
        await partyStart(services, host, "Sleepy");
        const now = new Date(Date.now() + 31 * 60_000);
        assert.deepEqual(await endIdleParties(services, now, ["discord"]), [], "only the platforms served");
        const ended = await endIdleParties(services, now, ["console"]);
        assert.deepEqual(ended.map((e) => [e.party.name, e.summary.ended]), [["Sleepy", "idle"]]);
        assert.deepEqual(await endIdleParties(services, now), []);
      });

      await t.step("one quiet party that cannot be ended keeps no other from ending", async () => {
        const other = { platform: "console", channelId: "other-room" };
        await partyStart(services, { ...host, channel: other }, "Stuck");
        await partyStart(services, host, "Drowsy");
        const stuck = (await services.parties.active(other))!.id;
        const parties = services.parties;
        const flaky = Object.create(parties, {
          end: {
            value: (id: number) =>
              id === stuck ? Promise.reject(new Error("connection reset")) : parties.end(id),
          },
        });
        const now = new Date(Date.now() + 31 * 60_000);
        const ended = await endIdleParties({ ...services, parties: flaky }, now, ["console"]);
        assert.deepEqual(ended.map((e) => e.party.name), ["Drowsy"]);
        assert.equal(
          (await endIdleParties(services, now, ["console"]))[0]?.party.name,
          "Stuck",
          "ends later",
        );
      });

      await t.step("a share that lands after the party stopped is not folded into it", async () => {
        await partyStart(services, host, "Late");
        const id = (await services.parties.active(channel))!.id;
        assert.equal((await partyStop(services, host)).kind, "party_summary");
        await services.parties.add(id, [{
          kind: "shared",
          trackId: null,
          title: "late.mp3",
          artist: null,
          url: null,
          durationSeconds: null,
          by: "Alice",
          vector: null,
          labels: [],
          similarity: null,
        }]);
        assert.deepEqual(await services.parties.items(id), []);
        assert.equal(await services.parties.active(channel), undefined, "still over");
      });
    } finally {
      await app.close();
      await world.close();
    }
  },
});

Deno.test("party: a short shared clip is searched as /similar searches it (its length goes with its vector)", async () => {
  const world = await preparePartyWorld("shared.wav");
  const app = createApp(parseConfig(world.env, { cwd: Deno.cwd() }), silentLogger);
  try {
    await app.update(world.catalogDir);
    const services = await servicesFor(app);
    const lengths: (number | undefined)[] = [];
    services.app = {
      ...services.app,
      similarToVector: (vector, options) => {
        lengths.push(options?.clipSeconds);
        return app.similarToVector(vector, options);
      },
    };
    const short = join(world.root, "short.wav");
    await writeFixtureAudio(short, 7, 8);
    assert.equal((await partyStart(services, host, "Short")).code, "party_started");
    const [answer] = await partyShare(services, {
      requester: alice,
      channel,
      clips: [{
        name: "short.wav",
        size: undefined,
        contentType: undefined,
        location: { kind: "path", path: short },
      }],
      links: [],
    });
    assert.equal(answer?.kind, "similar", JSON.stringify(answer));
    assert.equal(lengths.length, 1);
    assert.ok(Math.abs(lengths[0]! - 8) < 0.1, `clipSeconds ${lengths[0]}`);
    // nothing was heard before, so the party's picks are /similar's five, in its order
    const similar = await app.similar(short, { k: 5 });
    assert.deepEqual(
      (answer as SimilarAnswer).tracks.map((t) => t.trackId),
      similar.recommendations.map((r) => r.trackId),
    );
  } finally {
    await app.close();
    await world.close();
  }
});
