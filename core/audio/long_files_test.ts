import assert from "node:assert/strict";
import { decodeAudio } from "./ffmpeg.ts";
import { decodeLongClip, decodeSegmentsMany, LONG_FILE_BYTES } from "./long_files.ts";
import { cutSegments } from "./segments.ts";
import { clipFrom } from "../recommend/recommend.ts";
import { ffmpeg } from "../../tests/audio_fixtures.ts";
import { isSoundalikeError } from "../errors.ts";

const SR = 16000;

/** A tone whose pitch rises over the file (so every window differs), over quiet pink noise. */
async function rising(path: string, seconds: number, codec: string[]): Promise<string> {
  await ffmpeg([
    ...["-f", "lavfi", "-i", `aevalsrc=0.4*sin(2*PI*(200+3*t)*t):s=44100:d=${seconds}`],
    ...["-f", "lavfi", "-i", `anoisesrc=color=pink:amplitude=0.05:seed=3:r=44100:d=${seconds}`],
    ...["-filter_complex", "amix=inputs=2", "-ac", "2", ...codec, path],
  ]);
  return path;
}

/** The best correlation of `a` with `b` shifted by up to `maxLag` samples, and that lag. */
function bestCorrelation(a: Float32Array, b: Float32Array, maxLag: number): { r: number; lag: number } {
  let best = { r: -2, lag: 0 };
  for (let lag = -maxLag; lag <= maxLag; lag += 1) {
    let ab = 0, aa = 0, bb = 0;
    for (let i = maxLag; i < 20_000 + maxLag; i++) {
      const x = a[i]!, y = b[i + lag]!;
      ab += x * y;
      aa += x * x;
      bb += y * y;
    }
    const r = ab / Math.sqrt(aa * bb);
    if (r > best.r) best = { r, lag };
  }
  return best;
}

Deno.test("decodeSegmentsMany: clips up to a minute are decoded whole, segments identical to today's (MP3 and a 5 MB WAV)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const mp3 = await rising(`${dir}/a.mp3`, 30, ["-b:a", "192k"]);
    const wav = await rising(`${dir}/b.wav`, 30, []);
    assert.ok((await Deno.stat(wav)).size > LONG_FILE_BYTES, "the WAV has its duration read first");
    const got = await decodeSegmentsMany([mp3, wav], { sampleRate: SR, maxSeconds: 1200 });
    for (const [i, path] of [mp3, wav].entries()) {
      const today = cutSegments(await decodeAudio(path, { sampleRate: SR, maxSeconds: 1200 }));
      assert.deepEqual(got[i], today);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("decodeSegmentsMany: a 4-minute track is decoded only in its three windows, the whole decode's windows within 100 ms", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const mp3 = await rising(`${dir}/long.mp3`, 240, ["-b:a", "128k"]);
    const wav = await rising(`${dir}/long.wav`, 240, []);
    const [a, b] = await decodeSegmentsMany([mp3, wav], { sampleRate: SR, maxSeconds: 1200 });
    for (const [path, got] of [[mp3, a], [wav, b]] as const) {
      const whole = cutSegments(await decodeAudio(path, { sampleRate: SR, maxSeconds: 1200 }));
      assert.ok(Array.isArray(got), String(got));
      assert.equal(got.length, 3);
      got.forEach((w, k) => {
        assert.equal(w.length, 10 * SR);
        // WAV (and Ogg) seek to the sample; MP3's fast seek (by its table of contents or bit rate)
        // lands within tens of ms (up to ~55 ms at 206 s in this CBR file, ~6 ms in a VBR one): far
        // below what a 10 s log-mel window of 50 ms frames can tell.
        const { r, lag } = bestCorrelation(w, whole[k]!, 1600);
        assert.ok(r > 0.99, `${path} window ${k}: correlation ${r} at lag ${lag}`);
        if (path.endsWith(".wav")) assert.equal(lag, 0);
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("decodeSegmentsMany: a silent long file and a missing one get their own errors, the others decode", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const silent = `${dir}/silent.wav`;
    await ffmpeg(["-f", "lavfi", "-i", "anullsrc=r=44100:cl=stereo", "-t", "90", silent]);
    const good = await rising(`${dir}/good.wav`, 90, []);
    const [s, m, g] = await decodeSegmentsMany([silent, `${dir}/missing.mp3`, good], { sampleRate: SR });
    assert.ok(isSoundalikeError(s, "silent_clip"), String(s));
    assert.ok(isSoundalikeError(m, "file_not_found"), String(m));
    assert.ok(Array.isArray(g) && g.length === 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("decodeLongClip: a long query decodes only its windows from the start offset, up to maxSeconds, as a whole decode would cut it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const wav = await rising(`${dir}/long.wav`, 200, []); // WAV seeks to the sample: windows compare exactly
    const short = await rising(`${dir}/short.mp3`, 30, ["-b:a", "128k"]);
    for (const [start, maxSeconds] of [[0, 1200], [45, 1200], [20, 150]] as const) {
      const opts = { sampleRate: SR, maxSeconds };
      const got = await decodeLongClip(wav, start, opts);
      const whole = clipFrom(await decodeAudio(wav, opts), start);
      assert.ok(got !== undefined, "a 200 s file is long");
      assert.equal(got.seconds, whole.seconds, `start ${start}, max ${maxSeconds}: length`);
      assert.equal(got.truncated, whole.truncated);
      cutSegments(whole).forEach((w, k) => {
        const { r, lag } = bestCorrelation(got.segments[k]!, w, 50);
        assert.ok(r > 0.999 && lag === 0, `start ${start}, window ${k}: r ${r} at lag ${lag}`);
      });
    }
    assert.equal(
      await decodeLongClip(short, 0, { sampleRate: SR, maxSeconds: 1200 }),
      undefined,
      "small file: whole",
    );
    assert.equal(
      await decodeLongClip(wav, 198.5, { sampleRate: SR, maxSeconds: 1200 }),
      undefined,
      "too little left after the start: the whole decode's error",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Whether two lists of arrays are equal, element by element (no giant diff when they are not). */
function sameArrays(a: readonly Float32Array[], b: readonly Float32Array[]): boolean {
  return a.length === b.length &&
    a.every((x, i) => x.length === b[i]!.length && x.every((v, j) => v === b[i]![j]));
}

function rms(x: Float32Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s / x.length);
}

Deno.test("decodeSegmentsMany/decodeLongClip: a file whose audio ends before its stated duration is decoded whole, never heard as silence", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A WAV cut to 40 s whose header still says 90 s: windows placed by 90 s run past the audio.
    const full = await rising(`${dir}/full.wav`, 90, []);
    const bytes = await Deno.readFile(full);
    const cut = `${dir}/cut.wav`;
    await Deno.writeFile(cut, bytes.subarray(0, 44 + 40 * 44100 * 2 * 2));
    const opts = { sampleRate: SR, maxSeconds: 1200 };
    const whole = await decodeAudio(cut, opts);
    assert.ok(Math.abs(whole.seconds - 40) < 0.1, `really ${whole.seconds} s`);
    const [got] = await decodeSegmentsMany([cut], opts);
    assert.ok(Array.isArray(got) && sameArrays(got, cutSegments(whole)), "the whole decode's segments");
    assert.equal(await decodeLongClip(cut, 0, opts), undefined, "a query decodes it whole");

    // A VBR MP3 without a header states over 200 s for 83 s (estimated from its silent first frames):
    // the fast seek places the windows in proportion, inside the audio, none of them silent.
    const mp3 = `${dir}/vbr.mp3`;
    await ffmpeg([
      ...["-f", "lavfi", "-i", "anullsrc=r=44100:cl=stereo:d=3"],
      ...["-f", "lavfi", "-i", "anoisesrc=color=pink:amplitude=0.3:r=44100:d=80:seed=5"],
      ...["-filter_complex", "[0][1]concat=n=2:v=0:a=1", "-ac", "2", "-c:a", "libmp3lame", "-q:a", "2"],
      ...["-write_xing", "0", mp3],
    ]);
    const [vbr] = await decodeSegmentsMany([mp3], {
      ...opts,
      fileSize: () => Promise.resolve(10 * 1024 * 1024),
    });
    assert.ok(Array.isArray(vbr), String(vbr));
    vbr.forEach((w, k) => assert.ok(rms(w) > 0.05, `window ${k}: rms ${rms(w)}`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
