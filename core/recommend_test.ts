import assert from "node:assert/strict";
import type { DecodedAudio } from "./ffmpeg.ts";
import { ErrorCode, isSoundalikeError, SoundalikeError } from "./errors.ts";
import { createMemoryLogger } from "./logger.ts";
import {
  type Neighbour,
  rankNeighbours,
  type RecommendDeps,
  recommendForFile,
  similarityPercent,
  type TrackCard,
} from "./recommend.ts";

const SR = 16000;

function card(trackId: number): TrackCard {
  return {
    trackId,
    source: "demo",
    sourceId: String(900000 + trackId),
    title: `Track ${trackId}`,
    artist: "Artist",
    album: null,
    genre: "Rock",
    durationSeconds: 30,
    license: "CC BY",
    url: null,
    isDemo: true,
  };
}

function fakeDeps(neighbours: Neighbour[], audioSeconds = 30, ownTrack?: number) {
  const searched: number[] = [];
  const embeddedSegments: number[] = [];
  const { logger, records } = createMemoryLogger();
  const deps: RecommendDeps = {
    decode: (path) => {
      if (path === "/missing") {
        return Promise.reject(new SoundalikeError(ErrorCode.FileNotFound, "No file at /missing"));
      }
      const samples = new Float32Array(Math.round(audioSeconds * SR)).map((_, i) => Math.sin(i / 10) * 0.3);
      return Promise.resolve<DecodedAudio>({
        samples,
        sampleRate: SR,
        seconds: audioSeconds,
        truncated: false,
      });
    },
    embed: (segments) => {
      embeddedSegments.push(segments.length);
      return Promise.resolve(new Float32Array(2304));
    },
    search: (_vector, k) => {
      searched.push(k);
      return { neighbours, metric: "l2" };
    },
    cards: (ids) => Promise.resolve(ids.filter((id) => id !== 404).map(card)),
    trackIdForFile: () => Promise.resolve(ownTrack),
    logger,
  };
  return { deps, searched, embeddedSegments, records };
}

Deno.test("similarityPercent() is the mean block cosine: 100 at distance 0, 0 at orthogonal blocks", () => {
  assert.equal(similarityPercent(0, "l2"), 100);
  assert.equal(similarityPercent(18, "l2"), 0);
  assert.equal(similarityPercent(4.5, "l2"), 75);
  assert.equal(similarityPercent(40, "l2"), 0);
  assert.equal(similarityPercent(0.5, "cosine"), 75);
});

Deno.test("rankNeighbours() orders by distance then track id and drops the query's own track", () => {
  const ranked = rankNeighbours(
    [
      { trackId: 9, distance: 2 },
      { trackId: 3, distance: 1 },
      { trackId: 7, distance: 1 },
      { trackId: 5, distance: 0.5 },
      { trackId: -1, distance: 0.1 }, // faiss pads missing results with -1
      { trackId: 8, distance: 0 }, // an exact duplicate of the query
    ],
    3,
    5,
  );
  assert.deepEqual(ranked.map((n) => n.trackId), [3, 7, 9]);
});

Deno.test("recommendForFile() returns k cards with rank, similarity and distance, best first", async () => {
  const { deps, searched, embeddedSegments } = fakeDeps([
    { trackId: 1, distance: 3 },
    { trackId: 2, distance: 1 },
    { trackId: 3, distance: 2 },
    { trackId: 4, distance: 4 },
  ]);
  const result = await recommendForFile(deps, "/clip.mp3", { k: 3 });
  assert.deepEqual(result.recommendations.map((r) => [r.rank, r.trackId, r.distance]), [
    [1, 2, 1],
    [2, 3, 2],
    [3, 1, 3],
  ]);
  assert.equal(result.recommendations[0]!.similarity, similarityPercent(1, "l2"));
  assert.equal(result.recommendations[0]!.title, "Track 2");
  assert.deepEqual(embeddedSegments, [3]);
  assert.ok(searched[0]! > 3, "asks the index for spares to replace excluded tracks");
  assert.equal(result.clip.seconds, 30);
});

Deno.test("recommendForFile() leaves out the clip's own catalog track", async () => {
  const { deps } = fakeDeps([{ trackId: 1, distance: 0.2 }, { trackId: 2, distance: 1 }], 30, 1);
  const result = await recommendForFile(deps, "/catalog/000001.mp3", { k: 5 });
  assert.deepEqual(result.recommendations.map((r) => r.trackId), [2]);
  assert.equal(result.excludedTrackId, 1);
});

Deno.test("recommendForFile() skips index entries missing from the database and logs them", async () => {
  const { deps, records } = fakeDeps([{ trackId: 404, distance: 0.5 }, { trackId: 2, distance: 1 }]);
  const result = await recommendForFile(deps, "/clip.mp3");
  assert.deepEqual(result.recommendations.map((r) => [r.rank, r.trackId]), [[1, 2]]);
  assert.ok(records.some((r) => r.level === "warn" && r.ctx?.trackId === 404));
});

Deno.test("recommendForFile() passes user errors through untouched and opens nothing for them", async () => {
  const { deps, searched, embeddedSegments } = fakeDeps([]);
  await assert.rejects(
    recommendForFile(deps, "/missing"),
    (err) => isSoundalikeError(err, "file_not_found"),
  );
  const short = fakeDeps([], 2).deps;
  await assert.rejects(
    recommendForFile(short, "/short.mp3"),
    (err) => isSoundalikeError(err, "clip_too_short"),
  );
  await assert.rejects(recommendForFile(deps, "/clip.mp3", { k: 0 }), RangeError);
  assert.deepEqual([searched, embeddedSegments], [[], []], "no model or index was used for a bad clip");
});
