/**
 * Soundalike's core: the public surface that `training/`, `bot/` and the CLIs use. It re-exports
 * the pipeline's plain functions (decode, features, segments, embed, search, metadata) and the
 * manifest; the wired application (database, indexes) is the second entry point, `core/app.ts`,
 * kept apart so that importing the pipeline does not load FAISS or the database drivers.
 * @module
 */

// in the order of a clip's path: audio, model, index (see app.ts), catalog, recommend; then the shared parts
export * from "./audio/ffmpeg.ts";
export * from "./audio/features.ts";
export * from "./audio/segments.ts";
export * from "./audio/augment.ts";
export * from "./model/manifest.ts";
export {
  createSession,
  type OnnxSession,
  type OrtProvider,
  releaseSession,
  run as runSession,
} from "./model/onnx.ts";
export * from "./model/embed.ts";
export * from "./catalog/csv.ts";
export * from "./catalog/reindex.ts";
export * from "./recommend/recommend.ts";
export * from "./recommend/block_weights.ts";
export * from "./recommend/party.ts";
export * from "./config.ts";
export * from "./errors.ts";
export { CatalogUnreachableError, type DatabaseState } from "./db/health.ts";
export * from "./logger.ts";
export * from "./util/files.ts";
export * from "./util/pool.ts";
export * from "./util/progress.ts";
export * from "./util/random.ts";
