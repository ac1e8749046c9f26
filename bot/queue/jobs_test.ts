import assert from "node:assert/strict";
import { SoundalikeError } from "../../core/errors.ts";
import {
  fromWire,
  MalformedJob,
  MAX_JOB_BYTES,
  parseJob,
  toWire,
  userErrorFrom,
  userErrorReason,
} from "./jobs.ts";

const refused = (kind: string, data: unknown, text: RegExp) =>
  assert.throws(
    () => parseJob(kind, data),
    (err: unknown) => err instanceof MalformedJob && text.test(err.message),
  );

Deno.test("parseJob() accepts each kind's payload as the chat process sends it", () => {
  assert.equal(
    parseJob("similar", { clip: "0b4f-9a.mp3", options: { k: 5, startSeconds: 30 } }).kind,
    "similar",
  );
  assert.equal(parseJob("analyze", { clip: "abc.wav" }).kind, "analyze");
  assert.equal(parseJob("similar_to_track", { trackId: 7, options: {} }).kind, "similar_to_track");
  const vector = toWire(new Float32Array(2304));
  assert.equal(
    parseJob("similar_to_vector", { vector, options: { exclude: [1, 2] } }).kind,
    "similar_to_vector",
  );
  const short = parseJob("similar_to_vector", { vector, options: { clipSeconds: 9.5 } });
  assert.equal(short.kind === "similar_to_vector" && short.payload.options.clipSeconds, 9.5);
  assert.equal(parseJob("embed_files", { paths: ["/srv/music/a.mp3"] }).kind, "embed_files");
});

Deno.test("parseJob() refuses unknown kinds, oversized messages, paths outside the clips folder and extra fields", () => {
  refused("rm_rf", {}, /^Unknown job kind "rm_rf"$/);
  refused("similar", { clip: "../../etc/passwd", options: {} }, /clip: must be a staged clip's file name/);
  refused("similar", { clip: "a.wav", options: {}, shell: "rm -rf /" }, /Unrecognized key/);
  refused("similar_to_track", { trackId: -1, options: {} }, /trackId/);
  refused("similar_to_vector", { vector: { $f32: "A".repeat(MAX_JOB_BYTES) }, options: {} }, /byte limit/);
  refused(
    "similar_to_vector",
    { vector: toWire(new Float32Array(2304)), options: { clipSeconds: -1 } },
    /clipSeconds: Too small/,
  );
  refused("embed_files", { paths: [] }, /paths/);
  refused("analyze", null, /malformed/);
});

Deno.test("toWire()/fromWire() carry float32 vectors, nested and in arrays, bit for bit", () => {
  const v = new Float32Array([0.1, -2.5, 3e-8, Number.MAX_VALUE]);
  const back = fromWire(JSON.parse(JSON.stringify(toWire({ a: [{ v }], s: new Set([3, 4]), n: null })))) as {
    a: { v: Float32Array }[];
    s: number[];
    n: null;
  };
  assert.ok(back.a[0]!.v instanceof Float32Array);
  assert.deepEqual([...back.a[0]!.v], [...v]);
  assert.deepEqual(back.s, [3, 4]);
  assert.equal(back.n, null);
  assert.throws(() => fromWire({ $f32: "AAA=" }), MalformedJob);
});

Deno.test("userErrorReason()/userErrorFrom() keep a user's error code and sentence; other errors carry none", () => {
  const reason = userErrorReason(
    new SoundalikeError("silent_clip", "The clip is silent: send one with sound"),
  );
  assert.ok(reason);
  const err = userErrorFrom(`Error: ${reason}`);
  assert.ok(err instanceof SoundalikeError);
  assert.equal(err.code, "silent_clip");
  assert.equal(err.message, "The clip is silent: send one with sound");
  assert.equal(userErrorReason(new Error("boom")), undefined);
  assert.equal(userErrorFrom("boom"), undefined);
});
