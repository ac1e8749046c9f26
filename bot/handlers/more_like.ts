/**
 * "More like #n": a new search seeded by a catalog track's stored vector, so nothing is downloaded
 * or decoded. Rate-limited like `/similar`; a track a reindex has since removed gets a clear answer.
 * @module
 */
import { notice, type NoticeAnswer, type SimilarAnswer, similarAnswer } from "../answer.ts";
import type { BotServices, Requester } from "../context.ts";
import { errorNotice } from "./_errors.ts";
import { admit, admitShared, countAnswer, labelsOf } from "./similar.ts";

/** A "More like" request. */
export interface MoreLikeRequest {
  requester: Requester;
  /** The catalog track to start from. */
  trackId: number;
  /** How many tracks. @default 5 */
  k?: number | undefined;
}

/**
 * Finds the catalog tracks most like a catalog track.
 *
 * @param services The bot's services.
 * @param request Who asks and which track.
 * @returns The similar tracks, or a notice.
 */
export async function runMoreLike(
  services: BotServices,
  request: MoreLikeRequest,
): Promise<SimilarAnswer | NoticeAnswer> {
  const receivedAt = performance.now();
  const answer = await moreLike(services, request, receivedAt);
  countAnswer(services, "more_like", answer, receivedAt);
  return answer;
}

async function moreLike(
  services: BotServices,
  request: MoreLikeRequest,
  receivedAt: number,
): Promise<SimilarAnswer | NoticeAnswer> {
  if (!Number.isSafeInteger(request.trackId) || request.trackId < 1) {
    return notice("error", "bad_request", "That button points at no track: search again with a clip");
  }
  const refusal = admit(services, request.requester) ?? await admitShared(services, request.requester);
  if (refusal) return refusal;
  try {
    const result = await services.queue.run(() =>
      services.app.similarToTrack(request.trackId, { k: request.k ?? 5 })
    );
    const seed = result.seed;
    const labels = await labelsOf(services, [seed.trackId, ...result.recommendations.map((r) => r.trackId)]);
    return similarAnswer({
      heading: `More like “${seed.title}”${seed.artist ? ` by ${seed.artist}` : ""}`,
      hearing: labels.get(seed.trackId) ?? [],
      recommendations: result.recommendations,
      trackLabels: labels,
      elapsedMs: performance.now() - receivedAt,
      index: result.index,
      method: result.method,
      indexVersion: result.indexVersion,
    });
  } catch (err) {
    return errorNotice(err, services.logger, {
      user: `${request.requester.platform}:${request.requester.userId}`,
      trackId: request.trackId,
    });
  }
}
