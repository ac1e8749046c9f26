/**
 * The one module that imports onnxruntime-node: sessions for the embedding CNNs, with the execution
 * provider chosen once (CUDA when asked for and loadable, otherwise CPU) and batched runs.
 *
 * onnxruntime throws when an execution provider cannot be loaded instead of falling back, so the
 * fallback to CPU is done here, and said once per logger (one line in a process's log, however many
 * sessions it opens).
 * @module
 */

import * as ort from "onnxruntime-node";
import { ErrorCode, SoundalikeError } from "../errors.ts";
import { type Logger, silentLogger } from "../logger.ts";

/** Which execution provider to ask for; `auto` tries CUDA and quietly uses CPU when it is absent. */
export type OrtProvider = "auto" | "cuda" | "cpu";

/** Options of {@linkcode createSession}. */
export interface SessionOptions {
  /** Execution provider to ask for. @default "cpu" */
  provider?: OrtProvider;
  /** Intra-op threads. @default 2 */
  threads?: number;
  /** Where the provider choice (and any fallback) is reported. @default silentLogger */
  logger?: Logger;
  /**
   * Let idle intra-op threads spin. Off by default: on a small shared machine (2 cores, ffmpeg
   * decoding beside inference) spinning threads steal the cores the work needs; measured 2-4x slower
   * per segment at batch 3-9 under load, and no faster when idle.
   * @default false
   */
  spinning?: boolean;
}

/** An open inference session. Release it with {@linkcode releaseSession}. */
export interface OnnxSession {
  /** The provider actually used. */
  readonly provider: "cuda" | "cpu";
  /** Input names in graph order. */
  readonly inputNames: readonly string[];
  /** Output names in graph order. */
  readonly outputNames: readonly string[];
  /** The runtime's session; only this module touches it. */
  readonly inner: ort.InferenceSession;
}

/** The two outputs of an embedding CNN for a batch, each row-major `[batch, size]`. */
export interface EmbeddingRun {
  /** `[batch, embeddingSize]`. */
  embedding: Float32Array;
  /** `[batch, classes]`. */
  logits: Float32Array;
  /** Batch size of the run. */
  batch: number;
  /** Width of one embedding row. */
  embeddingSize: number;
  /** Width of one logits row. */
  classes: number;
}

// Native logging at fatal only: a missing CUDA library is expected on most machines and would print a
// scary native error on every start; failures reach callers as exceptions and are logged by us.
ort.env.logLevel = "fatal";

// The CUDA provider's load failure, once known, so later sessions do not retry (and re-log) it.
let cudaFailure: string | undefined;
// Each logger hears about a given provider outcome once.
const announced = new WeakMap<Logger, Set<string>>();

function announceOnce(logger: Logger, key: string, say: () => void): void {
  let seen = announced.get(logger);
  if (!seen) announced.set(logger, seen = new Set());
  if (seen.has(key)) return;
  seen.add(key);
  say();
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message.split("\n")[0]! : String(err);
}

/** Forgets a recorded CUDA load failure (for tests). */
export function resetProviderState(): void {
  cudaFailure = undefined;
}

/**
 * Opens an inference session on ONNX bytes or a file.
 *
 * With `cuda` or `auto` the CUDA execution provider is tried first; when it cannot be loaded the
 * session is created on CPU and the logger is told once which provider is used and why.
 *
 * @param model The model's bytes, or the path of an `.onnx` file.
 * @param opts See {@linkcode SessionOptions}.
 * @returns The session, with the provider used.
 * @throws {SoundalikeError} `ModelMismatch` when the file is missing or not a loadable model.
 * @example
 * ```ts ignore
 * const session = await createSession("models/genre.onnx", { provider: "auto", threads: 2, logger });
 * const out = await run(session, "logmel", data, [1, 64, 200, 1]);
 * await releaseSession(session);
 * ```
 */
export async function createSession(
  model: Uint8Array | string,
  opts: SessionOptions = {},
): Promise<OnnxSession> {
  const provider = opts.provider ?? "cpu";
  const threads = opts.threads ?? 2;
  const logger = opts.logger ?? silentLogger;
  if (!Number.isInteger(threads) || threads < 1) {
    throw new RangeError(`threads must be a positive integer: ${threads}`);
  }
  const base: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
    extra: { session: { intra_op: { allow_spinning: opts.spinning ? "1" : "0" } } },
  };

  let cudaError: unknown;
  if (provider !== "cpu" && cudaFailure === undefined) {
    try {
      const inner = await open(model, { ...base, executionProviders: ["cuda"], logSeverityLevel: 4 });
      announceOnce(
        logger,
        "cuda",
        () => logger.info("onnxruntime: using the CUDA execution provider", { requested: provider }),
      );
      return wrap(inner, "cuda");
    } catch (err) {
      if (err instanceof SoundalikeError) throw err;
      cudaError = err;
    }
  }
  const inner = await open(model, { ...base, executionProviders: ["cpu"] });
  // Only a model that loads on CPU proves the CUDA failure was the provider's, not the model's.
  if (cudaError !== undefined) cudaFailure = errorText(cudaError);
  if (provider === "cpu") {
    announceOnce(
      logger,
      "cpu",
      () => logger.info("onnxruntime: using the CPU execution provider", { threads }),
    );
  } else {
    // Asked for CUDA explicitly: a warning; `auto` expects that CUDA may be absent: information.
    const say = (msg: string, ctx: Record<string, unknown>) =>
      provider === "cuda" ? logger.warn(msg, ctx) : logger.info(msg, ctx);
    announceOnce(
      logger,
      "cpu-fallback",
      () =>
        say("onnxruntime: CUDA execution provider unavailable, using CPU", {
          requested: provider,
          threads,
          reason: cudaFailure,
        }),
    );
  }
  return wrap(inner, "cpu");
}

async function open(model: Uint8Array | string, options: ort.InferenceSession.SessionOptions) {
  if (typeof model === "string") {
    try {
      await Deno.stat(model);
    } catch (err) {
      throw new SoundalikeError(
        ErrorCode.ModelMismatch,
        `The model file ${model} is missing: run \`deno task export\` (or retrain with \`deno task train\`)`,
        { cause: err },
      );
    }
  }
  try {
    return typeof model === "string"
      ? await ort.InferenceSession.create(model, options)
      : await ort.InferenceSession.create(model, options);
  } catch (err) {
    // A CUDA attempt's error goes back raw: the caller retries on CPU and decides what it meant.
    if (options.executionProviders?.includes("cuda")) throw err;
    throw new SoundalikeError(
      ErrorCode.ModelMismatch,
      `The model ${typeof model === "string" ? model : "(bytes)"} cannot be loaded by onnxruntime: ${
        errorText(err)
      }; run \`deno task export\``,
      { cause: err },
    );
  }
}

function wrap(inner: ort.InferenceSession, provider: "cuda" | "cpu"): OnnxSession {
  return { provider, inputNames: [...inner.inputNames], outputNames: [...inner.outputNames], inner };
}

/**
 * Runs one batch through an embedding CNN.
 *
 * @param session An open session whose graph has `embedding` and `logits` outputs.
 * @param inputName The graph input's name (`logmel`).
 * @param data The input, row-major; its length must equal the product of `dims`.
 * @param dims The input dims, batch first (`[N, 64, 200, 1]`).
 * @returns Both outputs for the whole batch.
 */
export async function run(
  session: OnnxSession,
  inputName: string,
  data: Float32Array,
  dims: readonly number[],
): Promise<EmbeddingRun> {
  const size = dims.reduce((a, b) => a * b, 1);
  if (data.length !== size) {
    throw new RangeError(`Input length ${data.length} does not match dims ${JSON.stringify(dims)}`);
  }
  if (!session.inputNames.includes(inputName)) {
    throw new SoundalikeError(
      ErrorCode.ModelMismatch,
      `The model has no input named ${inputName} (it has ${
        session.inputNames.join(", ")
      }): run \`deno task export\``,
    );
  }
  const missing = ["embedding", "logits"].filter((o) => !session.outputNames.includes(o));
  if (missing.length > 0) {
    throw new SoundalikeError(
      ErrorCode.ModelMismatch,
      `The model has no ${missing.join(" or ")} output (it has ${
        session.outputNames.join(", ")
      }): run \`deno task export\``,
    );
  }
  const batch = dims[0] ?? 0;
  const input = new ort.Tensor("float32", data, [...dims]);
  const results = await session.inner.run({ [inputName]: input }, ["embedding", "logits"]);
  try {
    const embedding = floatOutput(results, "embedding", batch);
    const logits = floatOutput(results, "logits", batch);
    return {
      embedding: embedding.data,
      logits: logits.data,
      batch,
      embeddingSize: embedding.width,
      classes: logits.width,
    };
  } finally {
    input.dispose();
    for (const t of Object.values(results)) t.dispose();
  }
}

/**
 * Runs one batch and returns the named float outputs with their dims (for outputs other than the
 * pair {@linkcode run} returns, such as an optional `probs`).
 *
 * @param session An open session.
 * @param inputName The graph input's name.
 * @param data The input, row-major.
 * @param dims The input dims, batch first.
 * @param outputs Names of the outputs to fetch.
 * @returns Each output's data (copied) and dims.
 */
export async function runOutputs(
  session: OnnxSession,
  inputName: string,
  data: Float32Array,
  dims: readonly number[],
  outputs: readonly string[],
): Promise<Record<string, { data: Float32Array; dims: number[] }>> {
  const input = new ort.Tensor("float32", data, [...dims]);
  const results = await session.inner.run({ [inputName]: input }, [...outputs]);
  try {
    const out: Record<string, { data: Float32Array; dims: number[] }> = {};
    for (const name of outputs) {
      const t = results[name];
      if (!t || t.type !== "float32") throw new Error(`Output ${name} is missing or not float32`);
      out[name] = { data: Float32Array.from(t.data as Float32Array), dims: [...t.dims] };
    }
    return out;
  } finally {
    input.dispose();
    for (const t of Object.values(results)) t.dispose();
  }
}

function floatOutput(
  results: ort.InferenceSession.OnnxValueMapType,
  name: string,
  batch: number,
): { data: Float32Array; width: number } {
  const t = results[name];
  if (!t || t.type !== "float32" || t.dims.length !== 2 || t.dims[0] !== batch) {
    throw new SoundalikeError(
      ErrorCode.ModelMismatch,
      `The model's ${name} output is not float32 [${batch}, size]: run \`deno task export\``,
    );
  }
  // Copy out of the runtime's buffer before the tensor is disposed.
  return { data: Float32Array.from(t.data as Float32Array), width: t.dims[1]! };
}

/**
 * Releases a session's native resources. Safe to call once per session.
 *
 * @param session The session to release.
 */
export async function releaseSession(session: OnnxSession): Promise<void> {
  await session.inner.release();
}
