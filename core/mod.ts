/**
 * Soundalike's core: the public surface that `training/`, `bot/` and the CLIs use. It re-exports
 * the pipeline's plain functions (decode, features, segments, embed, search, metadata) and the
 * manifest; the wired application (database, indexes) is the second entry point, `core/app.ts`,
 * kept apart so that importing the pipeline does not load FAISS or the database drivers.
 * @module
 */

export * from "./config.ts";
export * from "./csv.ts";
export * from "./embed.ts";
export * from "./errors.ts";
export * from "./features.ts";
export * from "./ffmpeg.ts";
export * from "./files.ts";
export * from "./logger.ts";
export * from "./manifest.ts";
export * from "./pool.ts";
export * from "./progress.ts";
export * from "./recommend.ts";
export * from "./reindex.ts";
export * from "./segments.ts";
export {
  createSession,
  type OnnxSession,
  type OrtProvider,
  releaseSession,
  run as runSession,
} from "./onnx.ts";
export * from "./random.ts";
export * from "./party.ts";
export * from "./augment.ts";
