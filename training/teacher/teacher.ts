/**
 * The MusiCNN teachers (Pons & Serra, 2019), run at training time only: their 50 tag probabilities and
 * (for the MSD tagger) 200-d embedding per 3 s patch, cached on disk by the audio file's sha256.
 *
 * - `msd`: the Million Song Dataset tagger as ONNX (`msd-musicnn-1.onnx`: patches -> 200-d embedding;
 *   `msd-msd-musicnn-1.onnx`: embedding -> 50 tags), run through core's onnx module.
 * - `mtt`: the MagnaTagATune tagger as a TF.js graph model (`mtt-musicnn-1/model.json` + weights), run
 *   with tfjs; it gives the instrument tags (drums, piano, violin, strings, ...).
 *
 * Every teacher file is checked against its sha256 before use; a wrong shape, a truncated cache entry
 * or a clip shorter than one patch stops with a message that names the file and the fix, so training
 * never starts on silently empty targets. `similar` and the bot never import this module.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { ErrorCode, type Logger, sha256File, SoundalikeError, writeFileAtomic } from "../../core/mod.ts";
import { createSession, type OnnxSession, releaseSession, runOutputs } from "../../core/model/onnx.ts";
import { MUSICNN_BANDS, MUSICNN_PATCH_FRAMES, type MusicnnPatches } from "./musicnn_input.ts";

/** Which teacher. */
export type TeacherId = "msd" | "mtt";

/** Where a teacher file comes from (recorded in each student's `trainedOn`). */
export interface TeacherSource {
  repository: string;
  commit: string;
  /** Path inside the repository. */
  path: string;
  licence: string;
}

/** One file of a teacher: its name under the teacher folder, sha256 and source. */
export interface TeacherFile {
  name: string;
  sha256: string;
  source: TeacherSource;
}

const MSD_SOURCE = {
  repository: "NeptuneHub/AudioMuse-AI",
  commit: "8665ff00494b9f77fc4dbb23225dcafc4f005f1e",
  licence: "CC BY-NC-SA 4.0 (MTG's Essentia model conversions)",
};
const MTT_SOURCE = {
  repository: "gilpanal/b8b_synapse",
  commit: "085722a833f5cfd649d58831898ef6e0e77ccccc",
  licence: "CC BY-NC-SA 4.0 (MTG's Essentia model conversions)",
};

/** The files of each teacher, with the hashes they must have. */
export const TEACHER_FILES: Readonly<Record<TeacherId, readonly TeacherFile[]>> = Object.freeze({
  msd: [
    {
      name: "msd-musicnn-1.onnx",
      sha256: "e9347e05e34e203ee09684cd2cc7b077e84042766fcd908a46abc73bc62a8d97",
      source: { ...MSD_SOURCE, path: "test/models/msd-musicnn-1.onnx" },
    },
    {
      name: "msd-msd-musicnn-1.onnx",
      sha256: "ba0f4dbf7b5e140704b5fc1eabda1f74fe392fa66fdae86a485376c1a03805e8",
      source: { ...MSD_SOURCE, path: "test/models/msd-msd-musicnn-1.onnx" },
    },
  ],
  mtt: [
    {
      name: "mtt-musicnn-1/model.json",
      sha256: "7bd2e5fe08db8983ee2c53091f61aefb0c242a134d9b2be462b3f966ca3d4613",
      source: { ...MTT_SOURCE, path: "mtt-musicnn-1/model.json" },
    },
    {
      name: "mtt-musicnn-1/group1-shard1of1.bin",
      sha256: "04de7133fb9268e6b58571b73bad612a0af55e5424e47739d939307852a42f91",
      source: { ...MTT_SOURCE, path: "mtt-musicnn-1/group1-shard1of1.bin" },
    },
  ],
});

/** The MSD tagger's 50 tags, in output order. */
export const MSD_TAGS: readonly string[] = Object.freeze([
  "rock",
  "pop",
  "alternative",
  "indie",
  "electronic",
  "female vocalists",
  "dance",
  "00s",
  "alternative rock",
  "jazz",
  "beautiful",
  "metal",
  "chillout",
  "male vocalists",
  "classic rock",
  "soul",
  "indie rock",
  "Mellow",
  "electronica",
  "80s",
  "folk",
  "90s",
  "chill",
  "instrumental",
  "punk",
  "oldies",
  "blues",
  "hard rock",
  "ambient",
  "acoustic",
  "experimental",
  "female vocalist",
  "guitar",
  "Hip-Hop",
  "70s",
  "party",
  "country",
  "easy listening",
  "sexy",
  "catchy",
  "funk",
  "electro",
  "heavy metal",
  "Progressive rock",
  "60s",
  "rnb",
  "indie pop",
  "sad",
  "House",
  "happy",
]); // deno-fmt-ignore

/** The MTT tagger's 50 tags, in output order. */
export const MTT_TAGS: readonly string[] = Object.freeze([
  "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast", "piano",
  "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male", "singing", "vocals",
  "no vocals", "harpsichord", "loud", "quiet", "flute", "woman", "male vocal", "no vocal", "pop", "soft",
  "sitar", "solo", "man", "classic", "choir", "voice", "new age", "dance", "male voice", "female vocal",
  "beats", "harp", "cello", "no voice", "weird", "country", "metal", "female voice", "choral",
]); // deno-fmt-ignore

/** Width of the MSD tagger's embedding. */
export const TEACHER_EMBEDDING_SIZE = 200;

/** A teacher's outputs for some patches. */
export interface TeacherOutput {
  /** Patches. */
  n: number;
  /** `n * 50` tag probabilities, row-major. */
  tags: Float32Array;
  /** `n * 200` embeddings (MSD only; empty for MTT). */
  embedding: Float32Array;
}

/** An open teacher. */
export interface Teacher {
  readonly id: TeacherId;
  /** The files it was loaded from, with their hashes and sources. */
  readonly files: readonly TeacherFile[];
  /** Runs the teacher on patches (at most 64 at a time are sent). */
  run(patches: MusicnnPatches): Promise<TeacherOutput>;
  close(): Promise<void>;
}

/**
 * Checks that every file of a teacher is in `dir` with the expected sha256.
 *
 * @param id The teacher.
 * @param dir The teacher folder (e.g. `.cache/teacher`).
 * @returns The files.
 * @throws {SoundalikeError} `model_mismatch` naming the missing or changed file and the fix.
 */
export async function verifyTeacherFiles(id: TeacherId, dir: string): Promise<readonly TeacherFile[]> {
  for (const f of TEACHER_FILES[id]) {
    const path = join(dir, f.name);
    let sha: string;
    try {
      sha = await sha256File(path);
    } catch (err) {
      throw new SoundalikeError(
        ErrorCode.ModelMismatch,
        `The ${id} teacher file ${path} is missing: bring it in with \`deno task fetch-teacher --from <snapshot of ${f.source.repository}>\``,
        { cause: err },
      );
    }
    if (sha !== f.sha256) {
      throw new SoundalikeError(
        ErrorCode.ModelMismatch,
        `The ${id} teacher file ${path} has sha256 ${sha}, expected ${f.sha256} (${f.source.repository}@${
          f.source.commit.slice(0, 12)
        }:${f.source.path}): delete it and run \`deno task fetch-teacher\` again`,
      );
    }
  }
  return TEACHER_FILES[id];
}

/**
 * Refuses a teacher output whose shape is not the expected one.
 *
 * @param id The teacher.
 * @param what Which output, for the message.
 * @param dims Its dims.
 * @param want The expected dims.
 * @throws {SoundalikeError} `model_mismatch` naming the teacher, both shapes and the fix.
 */
export function checkTeacherShape(
  id: TeacherId,
  what: string,
  dims: readonly number[],
  want: readonly number[],
): void {
  if (dims.length !== want.length || dims.some((d, i) => d !== want[i])) {
    throw new SoundalikeError(
      ErrorCode.ModelMismatch,
      `The ${id} teacher's ${what} has shape [${dims.join(", ")}], expected [${
        want.join(", ")
      }]: the teacher file is not the one this code expects; run \`deno task fetch-teacher\` again`,
    );
  }
}

const BATCH = 64;
const PATCH_SIZE = MUSICNN_PATCH_FRAMES * MUSICNN_BANDS;

/**
 * Opens a teacher from its folder after checking its files' hashes.
 *
 * @param id The teacher.
 * @param dir The teacher folder (`.cache/teacher` by default in the CLIs).
 * @param opts Threads for onnxruntime.
 * @returns The teacher.
 */
export async function openTeacher(
  id: TeacherId,
  dir: string,
  opts: { threads?: number } = {},
): Promise<Teacher> {
  const files = await verifyTeacherFiles(id, dir);
  if (id === "msd") {
    const backbone = await createSession(join(dir, files[0]!.name), { threads: opts.threads ?? 1 });
    let head: OnnxSession;
    try {
      head = await createSession(join(dir, files[1]!.name), { threads: opts.threads ?? 1 });
    } catch (err) {
      await releaseSession(backbone);
      throw err;
    }
    return {
      id,
      files,
      run: async (p) => {
        const tags = new Float32Array(p.n * MSD_TAGS.length);
        const embedding = new Float32Array(p.n * TEACHER_EMBEDDING_SIZE);
        for (let at = 0; at < p.n; at += BATCH) {
          const b = Math.min(BATCH, p.n - at);
          const x = p.data.subarray(at * PATCH_SIZE, (at + b) * PATCH_SIZE);
          const e = (await runOutputs(
            backbone,
            backbone.inputNames[0]!,
            x,
            [b, MUSICNN_PATCH_FRAMES, MUSICNN_BANDS],
            [
              "model/dense/BiasAdd:0",
            ],
          ))["model/dense/BiasAdd:0"]!;
          checkTeacherShape(id, "embedding", e.dims, [b, TEACHER_EMBEDDING_SIZE]);
          const t = (await runOutputs(head, head.inputNames[0]!, e.data, e.dims, [head.outputNames[0]!]))[
            head.outputNames[0]!
          ]!;
          checkTeacherShape(id, "tag output", t.dims, [b, MSD_TAGS.length]);
          embedding.set(e.data, at * TEACHER_EMBEDDING_SIZE);
          tags.set(t.data, at * MSD_TAGS.length);
        }
        return { n: p.n, tags, embedding };
      },
      close: async () => {
        await releaseSession(backbone);
        await releaseSession(head);
      },
    };
  }
  const json = JSON.parse(await Deno.readTextFile(join(dir, files[0]!.name)));
  const weights = await Deno.readFile(join(dir, files[1]!.name));
  const specs = (json.weightsManifest as { weights: tf.io.WeightsManifestEntry[] }[]).flatMap((g) =>
    g.weights
  );
  const model = await tf.loadGraphModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: specs,
      weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
    }),
  );
  const training = tf.tensor1d([0], "bool");
  return {
    id,
    files,
    run: (p) => {
      const tags = new Float32Array(p.n * MTT_TAGS.length);
      for (let at = 0; at < p.n; at += BATCH) {
        const b = Math.min(BATCH, p.n - at);
        const out = tf.tidy(() => {
          const x = tf.tensor3d(p.data.subarray(at * PATCH_SIZE, (at + b) * PATCH_SIZE), [
            b,
            MUSICNN_PATCH_FRAMES,
            MUSICNN_BANDS,
          ]);
          return model.execute(
            { "model/Placeholder": x, "model/Placeholder_1": training },
            "model/Sigmoid",
          ) as tf.Tensor;
        });
        try {
          checkTeacherShape(id, "tag output", out.shape, [b, MTT_TAGS.length]);
          tags.set(out.dataSync() as Float32Array, at * MTT_TAGS.length);
        } finally {
          out.dispose();
        }
      }
      return Promise.resolve({ n: p.n, tags, embedding: new Float32Array(0) });
    },
    close: () => {
      model.dispose();
      training.dispose();
      return Promise.resolve();
    },
  };
}

// ---- cache -------------------------------------------------------------------------------------------

const MAGIC = 0x31544c53; // "SLT1"
/** Version of the input features and patching; part of every cache key. */
export const TEACHER_CACHE_VERSION = 1;

/**
 * The cache file of one audio file's teacher outputs.
 *
 * @param cacheDir The cache folder.
 * @param id The teacher.
 * @param sha The audio file's sha256.
 * @param stride Every how many patches the teacher ran (see {@linkcode stridedPatchIndices}). @default 1
 * @returns The path.
 */
export function teacherCachePath(cacheDir: string, id: TeacherId, sha: string, stride = 1): string {
  const s = stride === 1 ? "" : `-s${stride}`;
  return join(cacheDir, sha.slice(0, 2), `${sha}-${id}${s}-v${TEACHER_CACHE_VERSION}.bin`);
}

/**
 * The patches a teacher run with `stride` sees: `floor(stride / 2)`, then every `stride`-th (patch 0
 * alone for a clip too short for the first one), so a slow teacher still covers every 10 s window.
 *
 * @param n Patches of the clip.
 * @param stride Every how many patches.
 * @returns Patch indices, ascending.
 */
export function stridedPatchIndices(n: number, stride: number): number[] {
  const out: number[] = [];
  for (let i = Math.min(Math.floor(stride / 2), n - 1); i < n; i += stride) out.push(i);
  return out;
}

function selectPatches(p: MusicnnPatches, indices: readonly number[]): MusicnnPatches {
  const data = new Float32Array(indices.length * PATCH_SIZE);
  indices.forEach((i, k) => data.set(p.data.subarray(i * PATCH_SIZE, (i + 1) * PATCH_SIZE), k * PATCH_SIZE));
  return { data, n: indices.length };
}

/**
 * Serialises teacher outputs: magic, patches, tag width, embedding width, then the float32 arrays.
 *
 * @param out The outputs.
 * @returns The bytes.
 */
export function encodeTeacherOutput(out: TeacherOutput): Uint8Array {
  const tagWidth = out.n === 0 ? 0 : out.tags.length / out.n;
  const embWidth = out.n === 0 ? 0 : out.embedding.length / out.n;
  const bytes = new Uint8Array(16 + 4 * (out.tags.length + out.embedding.length));
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, out.n, true);
  view.setUint32(8, tagWidth, true);
  view.setUint32(12, embWidth, true);
  const floats = new Float32Array(bytes.buffer, 16);
  floats.set(out.tags, 0);
  floats.set(out.embedding, out.tags.length);
  return bytes;
}

/**
 * Reads what {@linkcode encodeTeacherOutput} wrote.
 *
 * @param bytes The file's bytes.
 * @param path The file, for the message.
 * @returns The outputs.
 * @throws {SoundalikeError} `bad_dataset` when the entry is truncated or not a teacher cache entry,
 * naming the file and the fix (delete it; the next run recomputes it).
 */
export function decodeTeacherOutput(bytes: Uint8Array, path: string): TeacherOutput {
  const bad = (why: string) =>
    new SoundalikeError(
      ErrorCode.BadDataset,
      `The teacher cache entry ${path} is ${why}: delete it (the next run recomputes it)`,
    );
  if (bytes.byteLength < 16) throw bad(`truncated (${bytes.byteLength} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw bad("not a teacher cache entry");
  const n = view.getUint32(4, true), tagWidth = view.getUint32(8, true), embWidth = view.getUint32(12, true);
  const want = 16 + 4 * n * (tagWidth + embWidth);
  if (bytes.byteLength !== want) throw bad(`truncated (${bytes.byteLength} bytes, expected ${want})`);
  if (n === 0) throw bad("empty (no patches)");
  const floats = new Float32Array(bytes.slice(16).buffer);
  return { n, tags: floats.slice(0, n * tagWidth), embedding: floats.slice(n * tagWidth) };
}

/**
 * A teacher's outputs for an audio file, from the cache or computed (and cached).
 *
 * @param teacher The open teacher.
 * @param path The audio file.
 * @param patches Makes the file's patches on a miss.
 * @param cacheDir The cache folder.
 * @param stride Run the teacher on every `stride`-th patch only ({@linkcode stridedPatchIndices}).
 * @param sha The file's sha256, when already known.
 * @returns The outputs and whether they came from the cache.
 */
export async function cachedTeacherOutput(
  teacher: Teacher,
  path: string,
  patches: () => Promise<MusicnnPatches>,
  cacheDir: string,
  stride = 1,
  sha?: string,
): Promise<{ output: TeacherOutput; hit: boolean }> {
  const file = teacherCachePath(cacheDir, teacher.id, sha ?? await sha256File(path), stride);
  let bytes: Uint8Array | undefined;
  try {
    bytes = await Deno.readFile(file);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  if (bytes !== undefined) return { output: decodeTeacherOutput(bytes, file), hit: true };
  const all = await patches();
  const output = await teacher.run(
    stride === 1 ? all : selectPatches(all, stridedPatchIndices(all.n, stride)),
  );
  await Deno.mkdir(join(file, ".."), { recursive: true });
  await writeFileAtomic(file, encodeTeacherOutput(output));
  return { output, hit: false };
}

/**
 * Reads a cached entry without a teacher (training reads targets this way).
 *
 * @param cacheDir The cache folder.
 * @param id The teacher.
 * @param sha The audio file's sha256.
 * @param audioPath The audio file, for the message.
 * @param stride The stride it was computed with.
 * @returns The outputs.
 * @throws {SoundalikeError} `bad_dataset` when absent (run `deno task teacher-targets`) or damaged.
 */
export async function readTeacherOutput(
  cacheDir: string,
  id: TeacherId,
  sha: string,
  audioPath: string,
  stride = 1,
): Promise<TeacherOutput> {
  const file = teacherCachePath(cacheDir, id, sha, stride);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(file);
  } catch (err) {
    throw new SoundalikeError(
      ErrorCode.BadDataset,
      `No ${id} teacher targets for ${audioPath} (expected ${file}): run \`deno task teacher-targets\` first`,
      { cause: err },
    );
  }
  return decodeTeacherOutput(bytes, file);
}

/**
 * Logs which teacher files are used (once per run).
 *
 * @param teacher The teacher.
 * @param logger Where.
 */
export function logTeacher(teacher: Teacher, logger: Logger): void {
  logger.info(`Teacher ${teacher.id}`, {
    files: teacher.files.map((f) =>
      `${f.source.repository}@${f.source.commit.slice(0, 12)}:${f.source.path}`
    ),
  });
}
