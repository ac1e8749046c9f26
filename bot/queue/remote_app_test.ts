import assert from "node:assert/strict";
import { join } from "node:path";
import { SoundalikeError } from "../../core/errors.ts";
import { JobFailed } from "./errors.ts";
import { userErrorReason } from "./jobs.ts";
import { runJob, stageClip, sweepStagedClips } from "./remote_app.ts";

Deno.test("stageClip() puts a copy under a fresh name (extension kept) and removes it; sweepStagedClips() removes only old ones", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const src = join(dir, "My Song (live).MP3");
    await Deno.writeTextFile(src, "bytes");
    const clips = join(dir, "queue", "clips");
    const staged = await stageClip(clips, src);
    assert.match(staged.name, /^[0-9a-f-]{36}\.mp3$/);
    assert.equal(await Deno.readTextFile(join(clips, staged.name)), "bytes");
    // Another source: a hard link shares its times with every other link of the file.
    const other = join(dir, "other.wav");
    await Deno.writeTextFile(other, "old");
    const old = await stageClip(clips, other);
    await Deno.utime(join(clips, old.name), new Date(0), new Date(0));
    assert.equal(await sweepStagedClips(clips, 60_000), 1);
    await staged.remove();
    assert.deepEqual([...Deno.readDirSync(clips)], []);
    assert.equal(await sweepStagedClips(join(dir, "none"), 1), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runJob() sends the payload on the wire and rethrows a worker's user error as the same SoundalikeError", async () => {
  const sent: unknown[] = [];
  const ok = await runJob(
    {
      submit: (_kind, data) => (sent.push(data), Promise.resolve({ v: { $f32: "AACAPw==" } })),
    },
    "similar_to_track",
    { trackId: 1, options: {} },
  );
  assert.deepEqual(sent, [{ trackId: 1, options: {} }]);
  assert.deepEqual([...(ok as { v: Float32Array }).v], [1]);
  const reason = userErrorReason(
    new SoundalikeError("track_gone", "That track is no longer in the catalog"),
  )!;
  await assert.rejects(
    runJob({ submit: () => Promise.reject(new JobFailed(reason)) }, "similar_to_track", {
      trackId: 1,
      options: {},
    }),
    (err: unknown) => err instanceof SoundalikeError && err.code === "track_gone",
  );
  await assert.rejects(
    runJob({ submit: () => Promise.reject(new JobFailed("boom")) }, "similar_to_track", {
      trackId: 1,
      options: {},
    }),
    JobFailed,
  );
});
