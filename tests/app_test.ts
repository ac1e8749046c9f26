import assert from "node:assert/strict";
import { join } from "node:path";
import { isSoundalikeError } from "../core/errors.ts";
import { ffmpeg } from "./audio_fixtures.ts";
import { openTestCatalog } from "./catalog_fixture.ts";

Deno.test("App answers similar, genre-filtered, offset and More-like queries on a real indexed catalog", async (t) => {
  const catalog = await openTestCatalog({ tracks: 9 });
  const { app } = catalog;
  try {
    await t.step("warm() opens everything and reports the served index", async () => {
      const warm = await app.warm();
      assert.equal(warm.indexedTracks, 9);
      assert.equal(warm.indexVersion, 1);
      assert.equal(warm.indexProblem, undefined);
    });

    const query = join(catalog.catalogDir, catalog.tracks[0]!.path);
    await t.step("similar() leaves the clip's own track out and says what the models hear", async () => {
      const result = await app.similar(query, { k: 5 });
      assert.equal(result.recommendations.length, 5);
      assert.ok(result.excludedTrackId !== undefined);
      assert.ok(result.recommendations.every((r) => r.title !== catalog.tracks[0]!.title));
      assert.deepEqual(result.hearing.map((h) => h.task), ["genre", "emotion", "instrument"]);
      assert.equal(result.indexVersion, 1);
    });

    await t.step("genre keeps only tracks of that top genre, case-insensitively", async () => {
      const result = await app.similar(query, { k: 5, genre: "jazz" });
      assert.equal(result.recommendations.length, 3, "the fixture has three Jazz tracks");
      assert.ok(result.recommendations.every((r) => r.genre === "Jazz"));
    });

    await t.step("an unknown genre is refused with the genres there are, before decoding", async () => {
      await assert.rejects(
        app.similar("/no/such/file.mp3", { genre: "Polka" }),
        (err) =>
          isSoundalikeError(err, "bad_request") && /Rock/.test(err.message) && /Jazz/.test(err.message),
      );
    });

    await t.step("startSeconds cuts the clip and the cut clip may find its own file", async () => {
      const result = await app.similar(query, { k: 3, startSeconds: 4 });
      assert.equal(result.clip.startSeconds, 4);
      assert.ok(Math.abs(result.clip.seconds - 8) < 0.1);
      assert.equal(result.excludedTrackId, undefined);
    });

    await t.step("genres() lists the catalog's top genres with counts", async () => {
      assert.deepEqual(await app.genres(), [
        { genre: "Hip-Hop", tracks: 3 },
        { genre: "Jazz", tracks: 3 },
        { genre: "Rock", tracks: 3 },
      ]);
    });

    await t.step(
      "analyze() embeds without searching and recognises a catalog file; similarToVector() excludes",
      async () => {
        const report = await app.analyze(query);
        assert.equal(report.vector.length, 2304);
        assert.ok(report.catalogTrackId !== undefined);
        assert.ok(Math.abs(report.seconds - 12) < 0.1);
        const all = await app.similarToVector(report.vector, { k: 8 });
        assert.equal(all.recommendations.length, 8);
        assert.equal(
          all.recommendations[0]!.trackId,
          report.catalogTrackId,
          "a file's vector finds its own track",
        );
        assert.equal(all.recommendations[0]!.similarity, 100);
        const skip = new Set(all.recommendations.slice(0, 4).map((r) => r.trackId));
        const rest = await app.similarToVector(report.vector, { k: 3, exclude: skip });
        assert.deepEqual(
          rest.recommendations.map((r) => r.trackId),
          all.recommendations.slice(4, 7).map((r) => r.trackId),
        );
      },
    );

    await t.step(
      "similarToVector() with clipSeconds searches a short clip's vector as similar() searches the clip",
      async () => {
        const short = join(catalog.dataDir, "short.wav");
        await ffmpeg(["-i", join(catalog.catalogDir, catalog.tracks[1]!.path), "-t", "8", short]);
        const report = await app.analyze(short);
        assert.ok(report.seconds <= 8.1);
        const bySimilar = await app.similar(short, { k: 5 });
        const byVector = await app.similarToVector(report.vector, { k: 5, clipSeconds: report.seconds });
        const plain = await app.similarToVector(report.vector, { k: 5 });
        const pick = (r: typeof plain) => r.recommendations.map((x) => [x.trackId, x.similarity]);
        assert.deepEqual(pick(byVector), pick(bySimilar));
        // the short clip's search is weighted: equal weights measure other distances
        assert.notDeepEqual(
          plain.recommendations.map((x) => x.distance),
          byVector.recommendations.map((x) => x.distance),
        );
      },
    );

    await t.step("a catalog track played 12 dB quieter finds itself first, by either method", async () => {
      const quiet = join(catalog.dataDir, "quieter.wav");
      await ffmpeg(["-i", join(catalog.catalogDir, catalog.tracks[2]!.path), "-af", "volume=-12dB", quiet]);
      for (const method of ["clip", "segment"] as const) {
        const result = await app.similar(quiet, { k: 3, method });
        assert.equal(result.recommendations[0]!.title, catalog.tracks[2]!.title, method);
        assert.ok(
          result.recommendations[0]!.similarity > 99.9,
          `${method}: ${result.recommendations[0]!.similarity}`,
        );
      }
    });

    await t.step(
      "segment search matches an excerpt's windows to its source's and says it answered",
      async () => {
        const excerpt = join(catalog.dataDir, "excerpt.wav");
        await ffmpeg([
          "-ss",
          "3",
          "-t",
          "5",
          "-i",
          join(catalog.catalogDir, catalog.tracks[4]!.path),
          excerpt,
        ]);
        const bySegment = await app.similar(excerpt, { k: 3, method: "segment" });
        assert.equal(bySegment.method, "segment");
        assert.equal(bySegment.recommendations[0]!.title, catalog.tracks[4]!.title);
        const byClip = await app.similar(excerpt, { k: 3, method: "clip" });
        assert.equal(byClip.method, "clip");
        const jazz = await app.similar(excerpt, { k: 5, method: "segment", genre: "Jazz" });
        assert.ok(
          jazz.recommendations.every((r) => r.genre === "Jazz"),
          "filters apply to segment search too",
        );
      },
    );

    const first = await app.similar(query, { k: 5 });
    const seedId = first.recommendations[0]!.trackId;
    await t.step("similarToTrack() searches from a stored vector and leaves the seed out", async () => {
      const more = await app.similarToTrack(seedId, { k: 4 });
      assert.equal(more.seed.trackId, seedId);
      assert.equal(more.recommendations.length, 4);
      assert.ok(more.recommendations.every((r) => r.trackId !== seedId));
    });

    await t.step("similarToTrack() on a track a reindex removed says it is gone", async () => {
      const gone = (await app.similarToTrack(seedId)).seed;
      await Deno.remove(join(catalog.catalogDir, gone.sourceId));
      await app.update(catalog.catalogDir);
      await assert.rejects(app.similarToTrack(seedId), (err) => isSoundalikeError(err, "track_gone"));
      await assert.rejects(app.similarToTrack(987654), (err) => isSoundalikeError(err, "track_gone"));
      assert.equal((await app.warm()).indexVersion, 2, "the new version is served without a restart");
    });
  } finally {
    await catalog.close();
  }
});
