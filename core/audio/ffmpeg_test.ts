import assert from "node:assert/strict";
import { ErrorCode, isSoundalikeError, type SoundalikeError } from "../errors.ts";
import {
  decodeAudio,
  decodeAudioBytes,
  type DecodedAudio,
  decodeMany,
  encodeMp3,
  ffmpegAvailable,
  readTagsMany,
} from "./ffmpeg.ts";
import { createMemoryLogger } from "../logger.ts";
import {
  ffmpeg,
  toneSamples,
  wavBytes,
  writeNoise,
  writeTone,
  writeVideoWithTone,
} from "../../tests/audio_fixtures.ts";

const SR = 16000;
const FMA_SMALL = new URL("../../../shared/data/fma_small/000/", import.meta.url);

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "soundalike_ffmpeg_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Frequency estimated from sign changes; good enough to tell 440 Hz from anything else. */
function zeroCrossingHz(samples: Float32Array, sampleRate: number): number {
  let crossings = 0;
  for (let i = 1; i < samples.length; i++) {
    if ((samples[i - 1]! < 0) !== (samples[i]! < 0)) crossings++;
  }
  return crossings / 2 / (samples.length / sampleRate);
}

function peak(samples: Float32Array): number {
  let m = 0;
  for (const v of samples) m = Math.max(m, Math.abs(v));
  return m;
}

function isCode(code: ErrorCode) {
  return (err: unknown): boolean => {
    assert.ok(isSoundalikeError(err, code), `expected ${code}, got ${String(err)}`);
    return true;
  };
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<SoundalikeError> {
  let caught: unknown;
  await assert.rejects(promise, (err) => {
    caught = err;
    return isCode(code)(err);
  });
  return caught as SoundalikeError;
}

Deno.test("ffmpegAvailable() is true for the installed ffmpeg and false for a missing one", async () => {
  assert.equal(await ffmpegAvailable(), true);
  assert.equal(await ffmpegAvailable("/nonexistent/ffmpeg"), false);
});

for (const ext of ["wav", "mp3", "ogg", "flac"]) {
  Deno.test(`decodeAudio() reads a ${ext.toUpperCase()} tone as mono float32 at the requested rate`, async () => {
    await withTempDir(async (dir) => {
      const path = await writeTone(`${dir}/tone.${ext}`, { seconds: 2, frequency: 440, sampleRate: 44100 });
      const audio = await decodeAudio(path, { sampleRate: SR });
      assert.equal(audio.sampleRate, SR);
      assert.ok(audio.samples instanceof Float32Array);
      assert.ok(Math.abs(audio.seconds - 2) < 0.06, `${audio.seconds} s`);
      assert.equal(audio.seconds, audio.samples.length / SR);
      assert.equal(audio.truncated, false);
      assert.ok(Math.abs(peak(audio.samples) - 0.5) < 0.05, `peak ${peak(audio.samples)}`);
      assert.ok(Math.abs(zeroCrossingHz(audio.samples, SR) - 440) < 10);
    });
  });
}

Deno.test("decodeAudio() downmixes stereo 48 kHz to mono 16 kHz keeping the level", async () => {
  await withTempDir(async (dir) => {
    const path = await writeTone(`${dir}/stereo.wav`, { seconds: 3, sampleRate: 48000, channels: 2 });
    const audio = await decodeAudio(path, { sampleRate: SR });
    assert.equal(audio.samples.length, 3 * SR);
    assert.ok(Math.abs(peak(audio.samples) - 0.5) < 0.01, `peak ${peak(audio.samples)}`);
    assert.ok(Math.abs(zeroCrossingHz(audio.samples, SR) - 440) < 5);
  });
});

Deno.test("decodeAudio() downmixes 6 channels and resamples odd rates", async () => {
  await withTempDir(async (dir) => {
    const six = await writeTone(`${dir}/six.flac`, { seconds: 2, sampleRate: 44100, channels: 6 });
    const a = await decodeAudio(six, { sampleRate: SR });
    assert.equal(a.samples.length, 2 * SR);
    assert.ok(peak(a.samples) > 0.1 && peak(a.samples) <= 1.01, `peak ${peak(a.samples)}`);
    assert.ok(Math.abs(zeroCrossingHz(a.samples, SR) - 440) < 5);
    for (const rate of [8000, 11025, 37800]) {
      const path = await writeTone(`${dir}/odd_${rate}.wav`, {
        seconds: 1,
        sampleRate: rate,
        frequency: 300,
      });
      const b = await decodeAudio(path, { sampleRate: SR });
      assert.equal(b.samples.length, SR, `${rate} Hz`);
      assert.ok(Math.abs(zeroCrossingHz(b.samples, SR) - 300) < 5, `${rate} Hz`);
    }
    const up = await decodeAudio(six, { sampleRate: 22050 });
    assert.equal(up.sampleRate, 22050);
    assert.equal(up.samples.length, 2 * 22050);
  });
});

Deno.test("decodeAudio() accepts a video with an audio track", async () => {
  await withTempDir(async (dir) => {
    const path = await writeVideoWithTone(`${dir}/clip.mp4`, { seconds: 2, frequency: 440 });
    const audio = await decodeAudio(path, { sampleRate: SR });
    assert.ok(Math.abs(audio.seconds - 2) < 0.1, `${audio.seconds} s`);
    assert.ok(Math.abs(zeroCrossingHz(audio.samples, SR) - 440) < 10);
  });
});

Deno.test("decodeAudio() reads paths with protocol-like characters as plain files", async () => {
  await withTempDir(async (dir) => {
    const path = await writeTone(`${dir}/concat:a|b -i x.wav`, { seconds: 1 });
    assert.equal((await decodeAudio(path, { sampleRate: SR })).samples.length, SR);
  });
});

Deno.test("decodeAudio() refuses a video without audio: unreadable_audio, no audio track", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/mute.mp4`;
    await ffmpeg(["-f", "lavfi", "-i", "testsrc=duration=1:size=64x48:rate=5", "-c:v", "libx264", path]);
    const err = await rejectsWith(decodeAudio(path, { sampleRate: SR }), ErrorCode.UnreadableAudio);
    assert.match(err.message, /no audio track/);
    assert.match(err.message, /mute\.mp4/);
  });
});

Deno.test("decodeAudio() refuses a text file renamed .mp3 and keeps ffmpeg's message as the cause", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/notes.mp3`;
    await Deno.writeTextFile(path, "These are not the sounds you are looking for.\n".repeat(50));
    const err = await rejectsWith(decodeAudio(path, { sampleRate: SR }), ErrorCode.UnreadableAudio);
    assert.match(err.message, /^The file notes\.mp3 could not be read as audio/);
    assert.ok(err.cause instanceof Error);
    assert.match(err.cause.message, /ffmpeg exited with code/);
  });
});

Deno.test("decodeAudio() refuses an empty file with unreadable_audio", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/empty.wav`, new Uint8Array(0));
    const err = await rejectsWith(
      decodeAudio(`${dir}/empty.wav`, { sampleRate: SR }),
      ErrorCode.UnreadableAudio,
    );
    assert.match(err.message, /empty/);
  });
});

Deno.test("decodeAudio() decodes what survives of a truncated MP3 (the first 20 % of its bytes)", async () => {
  await withTempDir(async (dir) => {
    const full = await writeNoise(`${dir}/full.mp3`, { seconds: 10, volume: 0.3 });
    const bytes = await Deno.readFile(full);
    await Deno.writeFile(`${dir}/cut.mp3`, bytes.subarray(0, Math.floor(bytes.length * 0.2)));
    const { logger } = createMemoryLogger();
    const audio = await decodeAudio(`${dir}/cut.mp3`, { sampleRate: SR, logger });
    assert.ok(Math.abs(audio.seconds - 2) < 0.3, `${audio.seconds} s`);
    assert.equal(audio.truncated, false);
    assert.ok(peak(audio.samples) > 0.1);
  });
});

Deno.test("decodeAudio() refuses a file cut inside its header with unreadable_audio", async () => {
  await withTempDir(async (dir) => {
    const full = await writeTone(`${dir}/full.ogg`, { seconds: 2 });
    const bytes = await Deno.readFile(full);
    await Deno.writeFile(`${dir}/stub.ogg`, bytes.subarray(0, 40));
    await rejectsWith(decodeAudio(`${dir}/stub.ogg`, { sampleRate: SR }), ErrorCode.UnreadableAudio);
  });
});

Deno.test("decodeAudio() reports a missing path or a directory as file_not_found", async () => {
  await withTempDir(async (dir) => {
    const err = await rejectsWith(decodeAudio(`${dir}/nope.mp3`, { sampleRate: SR }), ErrorCode.FileNotFound);
    assert.match(err.message, /does not exist/);
    assert.ok(err.message.includes(`${dir}/nope.mp3`));
    await rejectsWith(decodeAudio(dir, { sampleRate: SR }), ErrorCode.FileNotFound);
  });
});

Deno.test("decodeAudio() gives sizes of a MiB and more in MiB (1024 * 1024 bytes)", async () => {
  // 3 MiB of zeros is refused before ffmpeg runs: only its size matters.
  const bytes = new Uint8Array(3 * 1024 * 1024 + 512 * 1024);
  const err = await rejectsWith(
    decodeAudioBytes(bytes, { sampleRate: SR, maxBytes: 2 * 1024 * 1024, ffmpegPath: "/nonexistent/ffmpeg" }),
    ErrorCode.FileTooLarge,
  );
  assert.equal(err.message, "The upload is too large: 3.5 MiB, over the limit of 2.0 MiB");
});

Deno.test('decodeAudio() answers ffmpeg\'s "Permission denied" with unreadable_audio and one plain sentence', async () => {
  await withTempDir(async (dir) => {
    // Tests run as root, who may read any file: a stand-in ffmpeg reports the denial instead.
    const denied = `${dir}/denied_ffmpeg.sh`;
    await Deno.writeTextFile(
      denied,
      "#!/bin/sh\necho 'file:/music/locked.mp3: Permission denied' >&2\nexit 1\n",
    );
    await Deno.chmod(denied, 0o755);
    const path = await writeTone(`${dir}/locked.mp3`, { seconds: 1 });
    const err = await rejectsWith(
      decodeAudio(path, { sampleRate: SR, ffmpegPath: denied }),
      ErrorCode.UnreadableAudio,
    );
    assert.equal(err.message, "The file locked.mp3 cannot be read (permission denied)");
    assert.ok(err.cause instanceof Error);
    assert.match(err.cause.message, /Permission denied/);

    const other = await writeTone(`${dir}/other.wav`, { seconds: 1 });
    const results = await decodeMany([path, other], { sampleRate: SR, ffmpegPath: denied });
    for (const [i, name] of ["locked.mp3", "other.wav"].entries()) {
      const r = results[i];
      assert.ok(isSoundalikeError(r, ErrorCode.UnreadableAudio), `${name}: ${String(r)}`);
      assert.equal(r.message, `The file ${name} cannot be read (permission denied)`);
    }
  });
});

Deno.test({
  name: "decodeAudio() refuses a file it may not open with unreadable_audio before running ffmpeg",
  // root opens any file whatever its mode, so the refusal can only be seen as another user.
  ignore: Deno.build.os === "windows" || Deno.uid() === 0,
  fn: async () => {
    await withTempDir(async (dir) => {
      const path = await writeTone(`${dir}/locked.wav`, { seconds: 1 });
      await Deno.chmod(path, 0o000);
      const err = await rejectsWith(
        decodeAudio(path, { sampleRate: SR, ffmpegPath: "/nonexistent/ffmpeg" }),
        ErrorCode.UnreadableAudio,
      );
      assert.equal(err.message, "The file locked.wav cannot be read (permission denied)");
      assert.ok(err.cause instanceof Deno.errors.PermissionDenied);
    });
  },
});

Deno.test("decodeAudio() refuses a file over maxBytes before running ffmpeg, giving both sizes", async () => {
  await withTempDir(async (dir) => {
    const path = await writeTone(`${dir}/big.wav`, { seconds: 2 }); // 64 KB of PCM
    const size = (await Deno.stat(path)).size;
    const err = await rejectsWith(
      decodeAudio(path, { sampleRate: SR, maxBytes: 10_000, ffmpegPath: "/nonexistent/ffmpeg" }),
      ErrorCode.FileTooLarge,
    );
    assert.match(err.message, new RegExp(`${(size / 1024).toFixed(1)} KiB`));
    assert.match(err.message, /9\.8 KiB/);
    const ok = await decodeAudio(path, { sampleRate: SR, maxBytes: size });
    assert.equal(ok.samples.length, 2 * SR);
  });
});

Deno.test("decodeAudio() reads only maxSeconds and says when the source was longer", async () => {
  await withTempDir(async (dir) => {
    const path = await writeTone(`${dir}/five.flac`, { seconds: 5 });
    const cut = await decodeAudio(path, { sampleRate: SR, maxSeconds: 2 });
    assert.equal(cut.samples.length, 2 * SR);
    assert.equal(cut.seconds, 2);
    assert.equal(cut.truncated, true);
    const exact = await decodeAudio(path, { sampleRate: SR, maxSeconds: 5 });
    assert.equal(exact.samples.length, 5 * SR);
    assert.equal(exact.truncated, false);
    const roomy = await decodeAudio(path, { sampleRate: SR, maxSeconds: 60 });
    assert.equal(roomy.samples.length, 5 * SR);
    assert.equal(roomy.truncated, false);
    // The bounded part is the start of the full decode.
    const full = await decodeAudio(path, { sampleRate: SR });
    assert.deepEqual(cut.samples, full.samples.subarray(0, 2 * SR));
  });
});

Deno.test("decodeAudioBytes() pipes bytes to ffmpeg and gives the same samples as the file", async () => {
  await withTempDir(async (dir) => {
    for (const ext of ["mp3", "ogg"]) {
      const path = await writeTone(`${dir}/tone.${ext}`, { seconds: 3, sampleRate: 44100, channels: 2 });
      const fromFile = await decodeAudio(path, { sampleRate: SR });
      const fromBytes = await decodeAudioBytes(await Deno.readFile(path), { sampleRate: SR });
      // From a pipe ffmpeg cannot seek to the end to learn the MP3 encoder's padding, so a few
      // milliseconds of near-silence may follow (and the resampler's last samples move a little).
      const n = fromFile.samples.length;
      assert.ok(fromBytes.samples.length >= n && fromBytes.samples.length - n < 0.06 * SR, ext);
      const head = Math.floor(n / 2);
      assert.deepEqual(fromBytes.samples.subarray(0, head), fromFile.samples.subarray(0, head), ext);
      let maxDiff = 0;
      for (let i = 0; i < n; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(fromBytes.samples[i]! - fromFile.samples[i]!));
      }
      assert.ok(maxDiff < 0.01, `${ext}: max difference ${maxDiff}`);
    }
    const video = await writeVideoWithTone(`${dir}/clip.mp4`, { seconds: 2 });
    const v = await decodeAudioBytes(await Deno.readFile(video), { sampleRate: SR, maxSeconds: 1 });
    assert.equal(v.samples.length, SR);
    assert.equal(v.truncated, true);
  });
});

Deno.test("decodeAudioBytes() refuses empty, non-audio and too large uploads", async () => {
  await rejectsWith(decodeAudioBytes(new Uint8Array(0), { sampleRate: SR }), ErrorCode.UnreadableAudio);
  const text = new TextEncoder().encode("hello ".repeat(20_000));
  await rejectsWith(decodeAudioBytes(text, { sampleRate: SR }), ErrorCode.UnreadableAudio);
  const err = await rejectsWith(
    decodeAudioBytes(text, { sampleRate: SR, maxBytes: 1000 }),
    ErrorCode.FileTooLarge,
  );
  assert.match(err.message, /^The upload is too large: 117\.2 KiB, over the limit of 1000 bytes/);
});

Deno.test("decodeAudio() says missing_tool when ffmpeg is not installed", async () => {
  await withTempDir(async (dir) => {
    const path = await writeTone(`${dir}/t.wav`, { seconds: 1 });
    const err = await rejectsWith(
      decodeAudio(path, { sampleRate: SR, ffmpegPath: `${dir}/no_ffmpeg_here` }),
      ErrorCode.MissingTool,
    );
    assert.match(err.message, /^The ffmpeg program is not installed/);
    await rejectsWith(
      decodeAudioBytes(new Uint8Array(10), { sampleRate: SR, ffmpegPath: "/x/y" }),
      ErrorCode.MissingTool,
    );
  });
});

Deno.test("decodeAudio() stops ffmpeg and rejects when its signal aborts", async () => {
  await withTempDir(async (dir) => {
    // A stand-in that would run for 30 s: only the abort can end it quickly.
    const slow = `${dir}/slow_ffmpeg.sh`;
    await Deno.writeTextFile(slow, "#!/bin/sh\nexec sleep 30\n");
    await Deno.chmod(slow, 0o755);
    const path = await writeTone(`${dir}/t.wav`, { seconds: 1 });
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 50);
    try {
      await assert.rejects(
        decodeAudio(path, { sampleRate: SR, signal: controller.signal, ffmpegPath: slow }),
        (err: unknown) => err instanceof Error && err.name === "AbortError",
      );
    } finally {
      clearTimeout(timer);
    }
    const already = AbortSignal.abort();
    await assert.rejects(decodeAudio(path, { sampleRate: SR, signal: already }), { name: "AbortError" });
  });
});

Deno.test("decodeAudio() rejects invalid options as programmer errors", async () => {
  await assert.rejects(decodeAudio("x.wav", { sampleRate: 0 }), RangeError);
  await assert.rejects(decodeAudio("x.wav", { sampleRate: SR, maxSeconds: -1 }), RangeError);
});

Deno.test("decodeAudio() reads the real fma_small MP3s (44.1 kHz stereo)", async (t) => {
  const clip = new URL("000002.mp3", FMA_SMALL);
  try {
    await Deno.stat(clip);
  } catch {
    console.log(`skipped: ${clip.pathname} is absent (../shared/data not available)`);
    return;
  }
  await t.step("30 s clip", async () => {
    const audio = await decodeAudio(clip.pathname, { sampleRate: SR });
    assert.ok(Math.abs(audio.seconds - 30) < 0.5, `${audio.seconds} s`);
    assert.ok(peak(audio.samples) > 0.1);
  });
  await t.step("2 s excerpt", async () => {
    const audio = await decodeAudio(new URL("000010.mp3", FMA_SMALL).pathname, { sampleRate: SR });
    assert.ok(audio.seconds > 1.5 && audio.seconds < 2.5, `${audio.seconds} s`);
  });
});

// --- decodeMany() ---

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function assertAudio(result: unknown, label: string): asserts result is DecodedAudio {
  assert.ok(!(result instanceof Error), `${label}: expected audio, got ${String(result)}`);
}

/** Asserts a decodeMany() entry is what decodeAudio() gives for the same file. */
function assertSameAudio(batched: DecodedAudio | SoundalikeError, single: DecodedAudio, label: string): void {
  assertAudio(batched, label);
  assert.equal(batched.samples.length, single.samples.length, `${label}: length`);
  assert.equal(batched.sampleRate, single.sampleRate, label);
  assert.equal(batched.seconds, single.seconds, label);
  assert.equal(batched.truncated, single.truncated, `${label}: truncated`);
  const diff = maxAbsDiff(batched.samples, single.samples);
  assert.equal(diff, 0, `${label}: max difference ${diff}`);
}

/**
 * An ffmpeg stand-in that appends its arguments (one line per run) to `log`, then runs the real
 * ffmpeg (or sleeps, for abort tests).
 */
async function writeFfmpegSpy(
  dir: string,
  opts: { sleep?: boolean } = {},
): Promise<{ path: string; runs: () => Promise<string[]> }> {
  const log = `${dir}/ffmpeg_runs.log`;
  const path = `${dir}/ffmpeg_spy.sh`;
  const tail = opts.sleep ? "exec sleep 30" : 'exec ffmpeg "$@"';
  await Deno.writeTextFile(path, `#!/bin/sh\necho "$@" >> '${log}'\n${tail}\n`);
  await Deno.chmod(path, 0o755);
  const runs = async () => {
    try {
      return (await Deno.readTextFile(log)).split("\n").filter((l) => l !== "");
    } catch {
      return [];
    }
  };
  return { path, runs };
}

/** The temporary folder a batch run wrote to, read from its logged command line. */
function batchDirOf(run: string): string {
  const m = run.match(/file:(\S+)\/0\.f32/);
  assert.ok(m, `no batch output in: ${run}`);
  return m[1]!;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("decodeMany() decodes WAV, MP3, OGG and FLAC in one ffmpeg run, as decodeAudio() does", async () => {
  await withTempDir(async (dir) => {
    const paths = [
      await writeTone(`${dir}/a.wav`, { seconds: 2, sampleRate: 44100, channels: 2, frequency: 330 }),
      await writeNoise(`${dir}/b.mp3`, { seconds: 3, sampleRate: 44100, channels: 2, volume: 0.3 }),
      await writeTone(`${dir}/c.ogg`, { seconds: 1.5, sampleRate: 48000, frequency: 550 }),
      await writeNoise(`${dir}/d.flac`, { seconds: 2.5, sampleRate: 22050, channels: 6, seed: 3 }),
      await writeTone(`${dir}/e.mp3`, { seconds: 1, sampleRate: 16000 }),
    ];
    const spy = await writeFfmpegSpy(dir);
    const batched = await decodeMany(paths, { sampleRate: SR, ffmpegPath: spy.path });
    const runs = await spy.runs();
    assert.equal(runs.length, 1, "one ffmpeg process for the whole batch");
    assert.equal(await exists(batchDirOf(runs[0]!)), false, "the temporary folder is removed");
    assert.equal(batched.length, paths.length);
    for (const [i, path] of paths.entries()) {
      const single = await decodeAudio(path, { sampleRate: SR });
      assertSameAudio(batched[i]!, single, path);
    }
    assert.ok(Math.abs(zeroCrossingHz((batched[0] as DecodedAudio).samples, SR) - 330) < 10);
    assert.ok(Math.abs(zeroCrossingHz((batched[2] as DecodedAudio).samples, SR) - 550) < 10);
  });
});

Deno.test("decodeMany() returns errors for corrupt, missing, empty and too large files and decodes the rest", async () => {
  await withTempDir(async (dir) => {
    const good1 = await writeTone(`${dir}/good1.wav`, { seconds: 1, frequency: 300 });
    const corrupt = `${dir}/corrupt.mp3`;
    await Deno.writeTextFile(corrupt, "These are not the sounds you are looking for.\n".repeat(50));
    const missing = `${dir}/missing.ogg`;
    const empty = `${dir}/empty.flac`;
    await Deno.writeFile(empty, new Uint8Array(0));
    const good2 = await writeNoise(`${dir}/good2.mp3`, { seconds: 2, volume: 0.3 });
    const big = await writeTone(`${dir}/big.wav`, { seconds: 8 }); // 256 KB of PCM
    const paths = [good1, corrupt, missing, empty, good2, big, dir];
    const spy = await writeFfmpegSpy(dir);
    const results = await decodeMany(paths, { sampleRate: SR, maxBytes: 100_000, ffmpegPath: spy.path });

    assert.equal(results.length, paths.length);
    assertSameAudio(results[0]!, await decodeAudio(good1, { sampleRate: SR }), "good1");
    assertSameAudio(results[4]!, await decodeAudio(good2, { sampleRate: SR }), "good2");
    const expected: Array<[number, ErrorCode, RegExp]> = [
      [1, ErrorCode.UnreadableAudio, /^The file corrupt\.mp3 could not be read as audio/],
      [2, ErrorCode.FileNotFound, /does not exist: .*missing\.ogg/],
      [3, ErrorCode.UnreadableAudio, /^The file empty\.flac is empty/],
      [5, ErrorCode.FileTooLarge, /^The file big\.wav is too large/],
      [6, ErrorCode.FileNotFound, /not a file/],
    ];
    for (const [i, code, message] of expected) {
      const err = results[i];
      assert.ok(isSoundalikeError(err, code), `${paths[i]}: expected ${code}, got ${String(err)}`);
      assert.match(err.message, message);
    }
    assert.ok((results[1] as SoundalikeError).cause instanceof Error, "ffmpeg's message is the cause");

    // Missing, empty and too large files never reach ffmpeg; the failed batch of the other three
    // is followed by one run per file.
    const runs = await spy.runs();
    assert.equal(runs.length, 4);
    assert.equal(runs[0]!.split(" -i ").length - 1, 3);
    assert.equal(await exists(batchDirOf(runs[0]!)), false, "the temporary folder is removed");
  });
});

Deno.test("decodeMany() bounds each file to maxSeconds and sets truncated per file", async () => {
  await withTempDir(async (dir) => {
    const paths = [
      await writeTone(`${dir}/five.flac`, { seconds: 5 }),
      await writeTone(`${dir}/one.wav`, { seconds: 1, sampleRate: 44100 }),
      await writeNoise(`${dir}/three.mp3`, { seconds: 3, sampleRate: 44100, channels: 2 }),
      await writeTone(`${dir}/two.ogg`, { seconds: 2 }),
    ];
    const results = await decodeMany(paths, { sampleRate: SR, maxSeconds: 2 });
    const truncated = results.map((r) => (assertAudio(r, "batch"), r.truncated));
    assert.deepEqual(truncated, [true, false, true, false]);
    assert.equal((results[0] as DecodedAudio).samples.length, 2 * SR);
    assert.equal((results[0] as DecodedAudio).seconds, 2);
    assert.equal((results[1] as DecodedAudio).samples.length, SR);
    assert.equal((results[2] as DecodedAudio).samples.length, 2 * SR);
    for (const [i, path] of paths.entries()) {
      assertSameAudio(results[i]!, await decodeAudio(path, { sampleRate: SR, maxSeconds: 2 }), path);
    }
  });
});

Deno.test("decodeMany() decodes what survives of truncated and damaged MP3s, warning about the damaged one", async () => {
  await withTempDir(async (dir) => {
    const full = await writeNoise(`${dir}/full.mp3`, { seconds: 10, volume: 0.3 });
    const bytes = await Deno.readFile(full);
    const cut = `${dir}/cut.mp3`;
    await Deno.writeFile(cut, bytes.subarray(0, Math.floor(bytes.length * 0.2)));
    // Seeded garbage over a slice in the middle: ffmpeg skips the bad frames and complains.
    const damaged = bytes.slice();
    let x = 12345;
    for (let i = Math.floor(bytes.length * 0.4); i < Math.floor(bytes.length * 0.5); i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      damaged[i] = x >>> 16 & 255;
    }
    const bad = `${dir}/damaged.mp3`;
    await Deno.writeFile(bad, damaged);

    const { logger, records } = createMemoryLogger();
    const results = await decodeMany([full, cut, bad], { sampleRate: SR, logger });
    for (const [i, path] of [full, cut, bad].entries()) {
      assertSameAudio(results[i]!, await decodeAudio(path, { sampleRate: SR }), path);
    }
    assert.ok(Math.abs((results[0] as DecodedAudio).seconds - 10) < 0.1);
    assert.ok(Math.abs((results[1] as DecodedAudio).seconds - 2) < 0.3);
    assert.ok((results[2] as DecodedAudio).seconds > 5);
    const warnings = records.filter((r) => r.level === "warn");
    assert.deepEqual(warnings.map((w) => w.ctx?.file), ["The file damaged.mp3"]);
    assert.match(String(warnings[0]!.ctx?.stderr), /stream #2:0/);
  });
});

Deno.test("decodeMany() of no paths returns an empty list without running ffmpeg", async () => {
  assert.deepEqual(await decodeMany([], { sampleRate: SR, ffmpegPath: "/nonexistent/ffmpeg" }), []);
  await assert.rejects(decodeMany([], { sampleRate: 0 }), RangeError);
});

Deno.test("decodeMany() of one path decodes it as decodeAudio() does", async () => {
  await withTempDir(async (dir) => {
    const path = await writeTone(`${dir}/solo.ogg`, { seconds: 1 });
    const [result] = await decodeMany([path], { sampleRate: SR });
    assertSameAudio(result!, await decodeAudio(path, { sampleRate: SR }), "solo");
  });
});

Deno.test("decodeMany() throws missing_tool when ffmpeg is not installed", async () => {
  await withTempDir(async (dir) => {
    const a = await writeTone(`${dir}/a.wav`, { seconds: 1 });
    const b = await writeTone(`${dir}/b.wav`, { seconds: 1 });
    for (const paths of [[a, b], [a], [a, `${dir}/nope.wav`]]) {
      await rejectsWith(
        decodeMany(paths, { sampleRate: SR, ffmpegPath: `${dir}/no_ffmpeg` }),
        ErrorCode.MissingTool,
      );
    }
  });
});

Deno.test("decodeMany() stops ffmpeg, removes its temporary folder and rejects when aborted", async () => {
  await withTempDir(async (dir) => {
    const spy = await writeFfmpegSpy(dir, { sleep: true });
    const paths = [
      await writeTone(`${dir}/a.wav`, { seconds: 1 }),
      await writeTone(`${dir}/b.wav`, { seconds: 1 }),
    ];
    const controller = new AbortController();
    const decoding = decodeMany(paths, { sampleRate: SR, signal: controller.signal, ffmpegPath: spy.path });
    // Abort once the (sleeping) ffmpeg has started, not after a fixed delay a busy machine may outlast.
    for (let i = 0; (await spy.runs()).length === 0; i++) {
      assert.ok(i < 2000, "ffmpeg was started within 20 s");
      await new Promise((r) => setTimeout(r, 10));
    }
    controller.abort();
    await assert.rejects(decoding, (err: unknown) => err instanceof Error && err.name === "AbortError");
    const runs = await spy.runs();
    assert.equal(runs.length, 1);
    assert.equal(await exists(batchDirOf(runs[0]!)), false, "the temporary folder is removed");
    await assert.rejects(decodeMany(paths, { sampleRate: SR, signal: AbortSignal.abort() }), {
      name: "AbortError",
    });
  });
});

// --- encodeMp3() ---

Deno.test("encodeMp3() writes a constant bit rate MP3 that decodes back to the same tone", async () => {
  await withTempDir(async (dir) => {
    const sr = 44100;
    const tone = Float32Array.from({ length: 2 * sr }, (_, i) => 0.4 * Math.sin(2 * Math.PI * 440 * i / sr));
    const path = `${dir}/tone.mp3`;
    await encodeMp3({ sampleRate: sr, channels: [tone, tone] }, path);
    const bytes = await Deno.readFile(path);
    // ffmpeg's small ID3 tag (the encoder's name only: metadata is not copied), or a frame sync.
    const id3 = bytes[0] === 0x49 && bytes[1] === 0x44 && bytes[2] === 0x33;
    assert.ok(id3 || (bytes[0] === 0xff && (bytes[1]! & 0xe0) === 0xe0), `starts ${bytes[0]} ${bytes[1]}`);
    // 2 s at 256 kbit/s is 64000 bytes, plus a frame or two of encoder delay and padding.
    assert.ok(bytes.length > 62_000 && bytes.length < 68_000, `${bytes.length} bytes`);
    const audio = await decodeAudio(path, { sampleRate: SR });
    assert.ok(Math.abs(audio.seconds - 2) < 0.06, `${audio.seconds} s`);
    assert.ok(Math.abs(zeroCrossingHz(audio.samples, SR) - 440) < 10);

    // Mono keeps the level (a stereo file's level after the downmix is ffmpeg's matter, not ours).
    const mono = `${dir}/mono.mp3`;
    await encodeMp3({ sampleRate: sr, channels: [tone] }, mono, { bitrateKbps: 64 });
    const monoBytes = (await Deno.stat(mono)).size;
    assert.ok(monoBytes > 15_000 && monoBytes < 18_000, `${monoBytes} bytes for 2 s at 64 kbit/s`);
    const monoAudio = await decodeAudio(mono, { sampleRate: SR });
    assert.ok(Math.abs(peak(monoAudio.samples) - 0.4) < 0.03, `peak ${peak(monoAudio.samples)}`);
  });
});

Deno.test("encodeMp3() clips samples beyond [-1, 1] instead of wrapping them", async () => {
  await withTempDir(async (dir) => {
    const sr = 22050;
    // A square wave at +-1.5: wrapped 16-bit samples would flip sign and halve; clipped ones stay at full scale.
    const square = Float32Array.from({ length: sr }, (_, i) => (Math.floor(i / 50) % 2 === 0 ? 1.5 : -1.5));
    await encodeMp3({ sampleRate: sr, channels: [square] }, `${dir}/loud.mp3`);
    const audio = await decodeAudio(`${dir}/loud.mp3`, { sampleRate: sr });
    const p = peak(audio.samples);
    assert.ok(p > 0.9 && p < 1.3, `peak ${p}`);
    const mid = audio.samples.subarray(sr / 4, sr / 2);
    let mean = 0;
    for (const v of mid) mean += Math.abs(v);
    assert.ok(mean / mid.length > 0.8, `mean level ${mean / mid.length}`);
  });
});

Deno.test("encodeMp3() says missing_tool without ffmpeg and reports ffmpeg's failure", async () => {
  await withTempDir(async (dir) => {
    const audio = { sampleRate: 8000, channels: [new Float32Array(8000)] };
    await rejectsWith(
      encodeMp3(audio, `${dir}/x.mp3`, { ffmpegPath: `${dir}/no_ffmpeg` }),
      ErrorCode.MissingTool,
    );
    await assert.rejects(
      encodeMp3(audio, `${dir}/no/such/folder/x.mp3`),
      (err: unknown) => err instanceof Error && /could not encode .*x\.mp3 as MP3/.test(err.message),
    );
    await assert.rejects(encodeMp3({ sampleRate: 8000, channels: [] }, `${dir}/x.mp3`), RangeError);
  });
});

Deno.test("readTagsMany() reads title, artist, album, album artist, genre, date, track and duration from MP3, OGG, Opus, FLAC, M4A and WAV", async () => {
  await withTempDir(async (dir) => {
    const tags = {
      title: "Tïtle; with = signs # and \\ backslash",
      artist: "Ärtist",
      album: "Album",
      album_artist: "Album Artist",
      genre: "Hip-Hop",
      date: "2008",
      track: "3/12",
      comment: "line 1\nline 2",
    };
    const formats = ["mp3", "ogg", "opus", "flac", "m4a", "wav"];
    for (const ext of formats) {
      const meta = Object.entries(tags).flatMap(([k, v]) => ["-metadata", `${k}=${v}`]);
      await ffmpeg(["-f", "lavfi", "-i", "sine=f=440:d=3:sample_rate=16000", ...meta, `${dir}/a.${ext}`]);
    }
    const spy = await writeFfmpegSpy(dir);
    const results = await readTagsMany(formats.map((ext) => `${dir}/a.${ext}`), { ffmpegPath: spy.path });
    assert.equal((await spy.runs()).length, 1, "one ffmpeg for all six files");
    results.forEach((r, i) => {
      const ext = formats[i]!;
      assert.ok(!(r instanceof Error), `${ext}: ${r}`);
      // RIFF INFO has no album artist field.
      const want = ext === "wav" ? { ...tags, album_artist: undefined } : tags;
      for (const [key, value] of Object.entries(want)) assert.equal(r.tags[key], value, `${ext} ${key}`);
      assert.ok(!("encoder" in r.tags), `${ext}: ffmpeg's own encoder tag is dropped`);
      assert.ok(Math.abs(r.durationSeconds! - 3) < 0.15, `${ext}: duration ${r.durationSeconds}`);
    });
  });
});

Deno.test("readTagsMany() gives each bad file its own error and still reads the others", async () => {
  await withTempDir(async (dir) => {
    await ffmpeg(["-f", "lavfi", "-i", "sine=d=1", "-metadata", "title=Good", `${dir}/good.mp3`]);
    await Deno.writeTextFile(`${dir}/text.mp3`, "this is not music\n".repeat(50));
    await Deno.writeFile(`${dir}/random.ogg`, Uint8Array.from({ length: 4000 }, (_, i) => (i * 7919) % 251));
    await Deno.writeFile(`${dir}/empty.wav`, new Uint8Array(0));
    await ffmpeg([
      "-f",
      "lavfi",
      "-i",
      "testsrc=d=1:s=32x32",
      "-frames:v",
      "1",
      "-f",
      "image2",
      `${dir}/picture.mp3`,
    ]);
    await Deno.mkdir(`${dir}/folder.flac`);
    await Deno.writeFile(`${dir}/other.wav`, wavBytes(toneSamples(300, 1), { info: { INAM: "Other" } }));
    const names = [
      "text.mp3",
      "good.mp3",
      "random.ogg",
      "empty.wav",
      "missing.mp3",
      "picture.mp3",
      "folder.flac",
      "other.wav",
    ];
    const spy = await writeFfmpegSpy(dir);
    const results = await readTagsMany(names.map((n) => `${dir}/${n}`), { ffmpegPath: spy.path });
    const show = results.map((r) => r instanceof Error ? `${r.code}: ${r.message}` : r.tags["title"]);
    assert.deepEqual(show, [
      "unreadable_audio: The file text.mp3 could not be read as audio: it is not an audio file or it is corrupt",
      "Good",
      "unreadable_audio: The file random.ogg could not be read as audio: it is not an audio file or it is corrupt",
      "unreadable_audio: The file empty.wav is empty: it holds no audio",
      `file_not_found: The file does not exist: ${dir}/missing.mp3`,
      "unreadable_audio: The file picture.mp3 has no audio track",
      `file_not_found: The path is not a file: ${dir}/folder.flac`,
      "Other",
    ]);
    // Empty, missing and folder never reach ffmpeg; each file it cannot open costs one more run,
    // and files that do not start like audio go first, so those runs stop before the good files.
    const runs = await spy.runs();
    assert.equal(runs.length, 3);
    const inputs = (run: string) => [...run.matchAll(/-i file:\S+\/([^/\s]+)/g)].map((m) => m[1]);
    assert.deepEqual(inputs(runs[0]!), ["text.mp3", "random.ogg", "picture.mp3", "good.mp3", "other.wav"]);
    assert.deepEqual(inputs(runs[2]!), ["picture.mp3", "good.mp3", "other.wav"]);
  });
});

Deno.test("readTagsMany() decodes tags that are not UTF-8 as Windows-1252", async () => {
  await withTempDir(async (dir) => {
    // RIFF INFO holds bytes: a Latin-1/Windows-1252 title reaches ffmpeg (and us) undecoded.
    const latin1 = Uint8Array.from([0x43, 0x61, 0x66, 0xe9, 0x20, 0x80, 0x35]); // "Café €5"
    await Deno.writeFile(
      `${dir}/a.wav`,
      wavBytes(toneSamples(440, 1), { info: { INAM: latin1, IART: "Zoë" } }),
    );
    const [r] = await readTagsMany([`${dir}/a.wav`]);
    assert.ok(r !== undefined && !(r instanceof Error), String(r));
    assert.equal(r.tags["title"], "Café €5");
    assert.equal(r.tags["artist"], "Zoë");
    assert.equal(r.durationSeconds, 1);
  });
});

Deno.test("readTagsMany() of no paths runs nothing; without ffmpeg it is missing_tool", async () => {
  assert.deepEqual(await readTagsMany([], { ffmpegPath: "/nonexistent/ffmpeg" }), []);
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/a.wav`, wavBytes(toneSamples(440, 1)));
    await rejectsWith(
      readTagsMany([`${dir}/a.wav`], { ffmpegPath: "/nonexistent/ffmpeg" }),
      ErrorCode.MissingTool,
    );
  });
});

Deno.test("readTagsMany() reads the real ID3 tags of fma_small's 000002.mp3 (AWOL, Food)", async () => {
  const clip = new URL("000002.mp3", FMA_SMALL).pathname;
  if (!(await exists(clip))) {
    console.log(`skipped: ${clip} is absent (../shared/data not available)`);
    return;
  }
  const [r] = await readTagsMany([clip]);
  assert.ok(r !== undefined && !(r instanceof Error), String(r));
  assert.equal(r.tags["title"], "Food");
  assert.equal(r.tags["artist"], "AWOL");
  assert.equal(r.tags["album"], "AWOL - A Way Of Life");
  assert.equal(r.tags["genre"], "Hip-Hop");
  assert.equal(r.tags["date"], "2008");
  assert.equal(r.tags["track"], "3");
  assert.ok(Math.abs(r.durationSeconds! - 30) < 0.1, String(r.durationSeconds));
});
