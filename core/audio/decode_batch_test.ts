import assert from "node:assert/strict";
import { batchedDecoder, type DecodeBatch } from "./decode_batch.ts";
import { ErrorCode, SoundalikeError } from "../errors.ts";
import { decodeAudio, type DecodedAudio, decodeMany } from "./ffmpeg.ts";
import { writeTone } from "../../tests/audio_fixtures.ts";

const audio = (path: string): DecodedAudio => ({
  samples: new Float32Array([path.length]),
  sampleRate: 1,
  seconds: 1,
  truncated: false,
});

/** A batch decoder whose runs finish only when the test says so, recording each run's paths. */
function heldDecoder() {
  const runs: string[][] = [];
  const finish: Array<() => void> = [];
  const decode: DecodeBatch = (paths) => {
    runs.push([...paths]);
    return new Promise((resolve) =>
      finish.push(() =>
        resolve(
          paths.map((p) =>
            p.startsWith("bad")
              ? new SoundalikeError(ErrorCode.UnreadableAudio, `${p} is not audio`)
              : audio(p)
          ),
        )
      )
    );
  };
  return { runs, finish, decode };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("batchedDecoder() starts a lone request at once and batches those that wait for a busy process", async () => {
  const { runs, finish, decode } = heldDecoder();
  const decodeOne = batchedDecoder(decode, { processes: 2, maxBatch: 3 });
  const first = decodeOne("a.mp3");
  await tick();
  assert.deepEqual(runs, [["a.mp3"]]);
  const second = decodeOne("b.mp3");
  const waiting = ["c.mp3", "d.mp3", "bad.mp3", "e.mp3"].map(decodeOne);
  const waitingSettled = Promise.allSettled(waiting);
  await tick();
  assert.deepEqual(runs, [["a.mp3"], ["b.mp3"]], "two processes at most");
  finish[0]!();
  assert.equal((await first).samples[0], "a.mp3".length);
  await tick();
  assert.deepEqual(runs[2], ["c.mp3", "d.mp3", "bad.mp3"], "the waiting requests share one run");
  finish[1]!();
  await second;
  await tick();
  assert.deepEqual(runs[3], ["e.mp3"]);
  finish[2]!();
  finish[3]!();
  const settled = await waitingSettled;
  assert.deepEqual(settled.map((s) => s.status), ["fulfilled", "fulfilled", "rejected", "fulfilled"]);
  const bad = settled[2] as PromiseRejectedResult;
  assert.ok(bad.reason instanceof SoundalikeError && bad.reason.code === ErrorCode.UnreadableAudio);
  assert.match(bad.reason.message, /bad\.mp3/, "a file's error reaches its own caller only");
});

Deno.test("batchedDecoder() rejects a failed run's requests and still serves the next ones", async () => {
  let calls = 0;
  const decodeOne = batchedDecoder(async (paths) => {
    calls++;
    await tick();
    if (calls === 1) throw new SoundalikeError(ErrorCode.MissingTool, "ffmpeg is not installed");
    return paths.map(audio);
  }, { processes: 1, maxBatch: 8 });
  const settled = await Promise.allSettled(["a", "bb", "ccc"].map(decodeOne));
  assert.deepEqual(settled.map((s) => s.status), ["rejected", "fulfilled", "fulfilled"]);
  assert.equal((settled[0] as PromiseRejectedResult).reason.code, ErrorCode.MissingTool);
  assert.deepEqual(
    settled.slice(1).map((s) => (s as PromiseFulfilledResult<DecodedAudio>).value.samples[0]),
    [2, 3],
  );
  assert.equal(calls, 2, "b and c waited for the one process and went together");
  assert.throws(() => batchedDecoder(() => Promise.resolve([]), { processes: 0, maxBatch: 1 }), RangeError);
});

Deno.test("batchedDecoder() over ffmpeg gives each caller the samples decodeAudio() gives", async () => {
  const dir = await Deno.makeTempDir({ prefix: "soundalike_decode_batch_test_" });
  try {
    const opts = { sampleRate: 16000 };
    const paths = await Promise.all(
      [220, 330, 440, 550, 660].map((f, i) =>
        writeTone(`${dir}/tone${i}.${i % 2 ? "ogg" : "mp3"}`, {
          seconds: 1 + i / 2,
          frequency: f,
          sampleRate: 44100,
        })
      ),
    );
    const notAudio = `${dir}/notes.mp3`;
    await Deno.writeTextFile(notAudio, "not audio at all");
    let runs = 0;
    const decodeOne = batchedDecoder((p) => (runs++, decodeMany(p, opts)), { processes: 1, maxBatch: 8 });
    const results = await Promise.allSettled([...paths, notAudio].map(decodeOne));
    assert.equal(runs, 2, "the first file alone, the other five together");
    for (const [i, path] of paths.entries()) {
      const r = results[i]!;
      assert.equal(r.status, "fulfilled");
      assert.deepEqual(r.value.samples, (await decodeAudio(path, opts)).samples, path);
    }
    const last = results[paths.length]!;
    assert.equal(last.status, "rejected");
    assert.equal((last as PromiseRejectedResult).reason.code, ErrorCode.UnreadableAudio);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
