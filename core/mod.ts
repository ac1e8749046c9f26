/**
 * Soundalike's core: the public surface that `training/`, `bot/` and the CLIs use. It re-exports
 * the pipeline's plain functions (decode, features, segments, embed, search, metadata) and the
 * manifest; the wired application (database, indexes) is the second entry point, `core/app.ts`,
 * kept apart so that importing the pipeline does not load FAISS or the database drivers.
 * @module
 */

export * from "./config.ts";
export * from "./catalog/csv.ts";
export * from "./model/embed.ts";
export * from "./errors.ts";
export * from "./audio/features.ts";
export * from "./audio/ffmpeg.ts";
export * from "./util/files.ts";
export * from "./logger.ts";
export * from "./model/manifest.ts";
export * from "./util/pool.ts";
export * from "./util/progress.ts";
export * from "./recommend/recommend.ts";
export * from "./catalog/reindex.ts";
export * from "./audio/segments.ts";
export {
  createSession,
  type OnnxSession,
  type OrtProvider,
  releaseSession,
  run as runSession,
} from "./model/onnx.ts";
export * from "./util/random.ts";
export * from "./recommend/party.ts";
export * from "./audio/augment.ts";
