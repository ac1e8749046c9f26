import assert from "node:assert/strict";
import type { DecodedAudio } from "../audio/ffmpeg.ts";
import { ErrorCode, isSoundalikeError, SoundalikeError } from "../errors.ts";
import { createMemoryLogger } from "../logger.ts";
import {
  clipFrom,
  formatClock,
  type Neighbour,
  rankNeighbours,
  type RecommendDeps,
  recommendForFile,
  recommendForVector,
  searchKeeping,
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
      return Promise.resolve({
        vector: new Float32Array(2304),
        hearing: [{
          task: "genre" as const,
          classes: ["rock", "pop"],
          probabilities: Float32Array.of(0.75, 0.25),
        }],
      });
    },
    search: (_vector, k, filter) => {
      searched.push(k);
      const keep = filter?.keep;
      return { neighbours: keep ? neighbours.filter((n) => keep.has(n.trackId)) : neighbours, metric: "l2" };
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
      { trackId: 5, distance: 0 }, // the query's own file
      { trackId: -1, distance: 0.1 }, // faiss pads missing results with -1
      { trackId: 8, distance: 1e-12 }, // a copy of the query's own audio (the query is catalog file 5)
    ],
    3,
    5,
  );
  assert.deepEqual(ranked.map((n) => n.trackId), [3, 7, 9]);
  const outside = rankNeighbours([{ trackId: 8, distance: 1e-12 }, { trackId: 3, distance: 1 }], 3);
  assert.deepEqual(outside.map((n) => n.trackId), [8, 3], "the same music from outside the catalog is kept");
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

Deno.test("recommendForFile() starts the clip at startSeconds and never treats a cut clip as its own file", async () => {
  const { deps } = fakeDeps([{ trackId: 1, distance: 0.2 }, { trackId: 2, distance: 1 }], 60, 1);
  const result = await recommendForFile(deps, "/catalog/000001.mp3", { startSeconds: 45 });
  assert.equal(result.clip.seconds, 15);
  assert.equal(result.clip.startSeconds, 45);
  assert.deepEqual(result.recommendations.map((r) => r.trackId), [1, 2]);
  assert.equal(result.hearing[0]?.classes[0], "rock");
  await assert.rejects(
    recommendForFile(deps, "/catalog/000001.mp3", { startSeconds: 58 }),
    (err) => isSoundalikeError(err, "clip_too_short") && /at or before 0:57/.test(err.message),
  );
});

Deno.test("recommendForFile() passes the allowed tracks to the search", async () => {
  const { deps } = fakeDeps([{ trackId: 1, distance: 1 }, { trackId: 2, distance: 2 }, {
    trackId: 3,
    distance: 3,
  }]);
  const result = await recommendForFile(deps, "/clip.mp3", { filter: { keep: new Set([3, 2]) } });
  assert.deepEqual(result.recommendations.map((r) => r.trackId), [2, 3]);
});

Deno.test("recommendForFile() searches a clip of one window's audio with the emotion blocks at half weight", async () => {
  for (const [seconds, emotionScale] of [[10, 0.6], [30, 1]] as const) {
    const { deps } = fakeDeps([], seconds);
    const queried: Float32Array[] = [];
    deps.embed = () => Promise.resolve({ vector: new Float32Array(2304).fill(1), hearing: [] });
    // the same audio: raw distance 3 Σ (w - 1)² of a scaled query (0.72 for 1.2, 0.6, 1.2)
    const raw = emotionScale === 1 ? 0 : 0.72;
    deps.search = (vector) => {
      queried.push(vector);
      return {
        neighbours: [{ trackId: 1, distance: raw }, { trackId: 2, distance: raw + 1.8 }],
        metric: "l2",
      };
    };
    const r = await recommendForFile(deps, "/clip.wav");
    const v = queried[0]!;
    assert.ok(Math.abs(v[768]! - emotionScale) < 1e-6, `${seconds} s: emotion block x ${v[768]}`);
    assert.ok(Math.abs(v[0]! - (emotionScale === 1 ? 1 : 1.2)) < 1e-6 && v[0] === v[2303]);
    // similarities on the unweighted scale: the same audio 100 %, the next 10 points lower
    assert.deepEqual(r.recommendations.map((x) => x.similarity), [100, 90]);
  }
});

Deno.test("recommendForVector() ranks a stored vector's neighbours without decoding", async () => {
  const { deps, embeddedSegments } = fakeDeps([{ trackId: 7, distance: 0 }, { trackId: 5, distance: 2 }]);
  const result = await recommendForVector(deps, new Float32Array(2304), { k: 3, excludeTrackId: 7 });
  assert.deepEqual(result.recommendations.map((r) => [r.rank, r.trackId]), [[1, 5]]);
  assert.deepEqual(embeddedSegments, []);
});

Deno.test("searchKeeping() goes deeper until k allowed tracks are found, honours keep and exclude, and stops at the index size", () => {
  const all = Array.from({ length: 1000 }, (_, i) => ({ trackId: i, distance: i }));
  const depths: number[] = [];
  const search = (depth: number) => (depths.push(depth), all.slice(0, depth));
  assert.deepEqual(searchKeeping(search, 1000, 2, { keep: new Set([500, 999, 3]) }).map((n) => n.trackId), [
    3,
    500,
  ]);
  assert.deepEqual(depths, [64, 256, 1000]);
  assert.deepEqual(searchKeeping(search, 1000, 5, { keep: new Set([4242]) }), []);
  assert.deepEqual(searchKeeping(search, 1000, 2, { keep: new Set() }), []);
  assert.equal(searchKeeping(search, 1000, 3, undefined).length, 3);
  const skipFirst70 = new Set(Array.from({ length: 70 }, (_, i) => i));
  assert.deepEqual(searchKeeping(search, 1000, 2, { exclude: skipFirst70 }).map((n) => n.trackId), [70, 71]);
  assert.deepEqual(
    searchKeeping(search, 1000, 2, { keep: new Set([1, 2, 3]), exclude: new Set([1]) }).map((n) => n.trackId),
    [2, 3],
  );
});

Deno.test("clipFrom() and formatClock() cut and show clip times", () => {
  const audio = { samples: new Float32Array(16000 * 10), sampleRate: 16000, seconds: 10, truncated: false };
  assert.equal(clipFrom(audio, 0), audio);
  assert.equal(clipFrom(audio, 7).seconds, 3);
  assert.throws(() => clipFrom(audio, 7.5), /choose a start at or before 0:07/);
  assert.throws(() => clipFrom(audio, -1), RangeError);
  assert.equal(formatClock(3725), "1:02:05");
  assert.equal(formatClock(59.9), "0:59");
  // lengths round to the nearest second before splitting
  assert.equal(formatClock(59.6, "nearest"), "1:00");
  assert.equal(formatClock(168, "nearest"), "2:48");
  assert.equal(formatClock(0.4, "nearest"), "0:00");
  assert.equal(formatClock(3601.2, "nearest"), "1:00:01");
});
