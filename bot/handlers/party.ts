/**
 * Listening parties: `/party start [name]`, `next`, `status`, `stop`, and what is shared in a
 * channel while a party is on. Each shared audio file or supported link is fetched, embedded and
 * answered (in a thread) with the five closest catalog tracks not yet suggested in this party; it
 * joins the party's history and its vibe, from which `next` picks what to play. Everything is
 * stored (`PartyStore`), so a restart keeps the party. Platform-neutral like every handler.
 * @module
 */
import {
  ErrorCode,
  formatClock,
  isSoundalikeError,
  type NewPartyItem,
  type PartyChannel,
  type PartyItemRecord,
  type PartyRecord,
  type StoredLabel,
} from "../../core/mod.ts";
import {
  type Answer,
  type HeardLabel,
  heardLabels,
  notice,
  type NoticeAnswer,
  type PartyNextAnswer,
  type PartyStatusAnswer,
  type PartySummaryAnswer,
  type SimilarAnswer,
  similarAnswer,
  topLabels,
} from "../answer.ts";
import type { BotServices, ClipRef, Requester } from "../context.ts";
import { checkLink } from "../links.ts";
import { type PlaylistEntry, toCsv, toM3u } from "../party/playlist.ts";
import { leadingLabels, partyReason, partyVibe, type SharedClip } from "../party/vibe.ts";
import { withLinkAudio } from "../ytdlp.ts";
import { errorNotice } from "./_errors.ts";
import { admit, admitShared, checkClip, labelsOf, withLocalClip } from "./similar.ts";

/** What the party handlers need: the bot's services, party store included. */
export type PartyServices = BotServices;

/** A party command. */
export interface PartyRequest {
  requester: Requester;
  channel: PartyChannel;
  /** Whether the requester may start and stop parties here (the adapter applies the platform's rule). */
  canHost: boolean;
}

/** Something shared in a channel: audio files and links (either may be empty). */
export interface PartyShare {
  requester: Requester;
  channel: PartyChannel;
  clips: ClipRef[];
  links: string[];
}

/** Most items taken from one message: a message with 20 links is not 20 downloads. */
export const MAX_ITEMS_PER_MESSAGE = 3;

const SUGGESTIONS = 5;

/**
 * `/party start [name]`.
 *
 * @param services The bot's services and the party store.
 * @param request Who, where, and whether they may host.
 * @param name The party's name. @default "Listening party"
 * @returns What to say in the channel.
 */
export async function partyStart(
  services: PartyServices,
  request: PartyRequest,
  name?: string,
): Promise<NoticeAnswer> {
  if (!request.canHost) return notAHost(request);
  const title = (name ?? "").replace(/\s+/g, " ").trim().slice(0, 80) || "Listening party";
  const party = await services.parties.start(request.channel, title, request.requester.name);
  if (party === undefined) {
    const on = await services.parties.active(request.channel);
    return notice(
      "error",
      "busy",
      `“${on?.name ?? "A party"}” is already on in this channel: /party status tells how it goes`,
    );
  }
  return notice(
    "info",
    "party_started",
    `🎉 “${party.name}” is on! Share audio files or links (YouTube, SoundCloud, Bandcamp…) and I'll answer each ` +
      "with five tracks like it. /party next picks what to play, /party stop ends it with a playlist",
  );
}

/**
 * `/party status`.
 *
 * @param services The bot's services and the party store.
 * @param request Who and where.
 * @returns The party's figures, or a notice when none is on.
 */
export async function partyStatus(
  services: PartyServices,
  request: PartyRequest,
): Promise<PartyStatusAnswer | NoticeAnswer> {
  const party = await services.parties.active(request.channel);
  if (party === undefined) return noParty();
  const items = await services.parties.items(party.id);
  const lead = leadingLabels(sharedClips(items));
  return {
    kind: "party_status",
    name: party.name,
    startedBy: party.startedBy,
    minutes: minutesSince(party.startedAt),
    shared: items.filter((i) => i.kind === "shared").length,
    suggested: items.filter((i) => i.kind === "suggested").length,
    picked: items.filter((i) => i.kind === "next").length,
    // The percentage shown is how much of the party each leader is (its weighted share of what
    // was shared), not how sure the model was about one clip.
    leading: [...lead.values()].flatMap((labels) =>
      labels.slice(0, 1).map(({ task, className, label, share }) => ({
        task,
        className,
        label,
        probability: share,
      }))
    ),
  };
}

/**
 * `/party next`: the catalog track closest to the party's vibe that was not shared, suggested or
 * picked yet, with a reason.
 *
 * @param services The bot's services and the party store.
 * @param request Who and where.
 * @returns The pick, or a notice.
 */
export async function partyNext(
  services: PartyServices,
  request: PartyRequest,
): Promise<PartyNextAnswer | NoticeAnswer> {
  try {
    const party = await services.parties.active(request.channel);
    if (party === undefined) return noParty();
    const items = await services.parties.items(party.id);
    const shared = sharedClips(items);
    const vibe = partyVibe(shared);
    if (vibe === undefined) {
      return notice(
        "info",
        "party_empty",
        "Nothing was shared yet: share a song and I'll know the party's taste",
      );
    }
    const found = await services.app.similarToVector(vibe, { k: 1, exclude: heardTracks(items) });
    const track = found.recommendations[0];
    if (track === undefined) {
      return notice(
        "info",
        "party_exhausted",
        "Every catalog track was played or suggested already: what a party!",
      );
    }
    const labels = (await labelsOf(services, [track.trackId])).get(track.trackId) ?? [];
    await services.parties.add(party.id, [item("next", track, null, labels.map(stored))]);
    return {
      kind: "party_next",
      party: party.name,
      track,
      reason: partyReason(labels, leadingLabels(shared), track.similarity),
    };
  } catch (err) {
    return errorNotice(err, services.logger, { party: request.channel });
  }
}

/** The party subcommands, as users type them. */
export const PARTY_USAGE = "Use /party start [name], /party next, /party status or /party stop";

/**
 * One `/party` subcommand, as every platform takes it: `start [name]`, `next`, `status`, `stop`;
 * anything else gets the usage, and a failure becomes a notice.
 *
 * @param services The bot's services and the party store.
 * @param request Who and where.
 * @param sub The subcommand.
 * @param name A new party's name (`start` only).
 * @returns The answer to show.
 */
export async function runParty(
  services: PartyServices,
  request: PartyRequest,
  sub: string,
  name?: string,
): Promise<Answer> {
  try {
    switch (sub) {
      case "start":
        return await partyStart(services, request, name);
      case "next":
        return await partyNext(services, request);
      case "status":
        return await partyStatus(services, request);
      case "stop":
        return await partyStop(services, request);
      default:
        return notice("error", "bad_request", PARTY_USAGE);
    }
  } catch (err) {
    return errorNotice(err, services.logger, { party: request.channel, sub });
  }
}

/**
 * `/party stop`: ends the party and sums it up, with the playlist as M3U and CSV files.
 *
 * @param services The bot's services and the party store.
 * @param request Who and where; only hosts may stop.
 * @returns The summary, or a notice.
 */
export async function partyStop(
  services: PartyServices,
  request: PartyRequest,
): Promise<PartySummaryAnswer | NoticeAnswer> {
  if (!request.canHost) return notAHost(request);
  const party = await services.parties.active(request.channel);
  if (party === undefined) return noParty();
  const ended = await services.parties.end(party.id);
  if (ended === undefined) return noParty();
  return summarize(services, ended, "stopped");
}

/**
 * Ends every party idle for longer than the configured time.
 *
 * @param services The bot's services and the party store.
 * @param now The current time (a seam for tests).
 * @param platforms Only parties on these platforms (the ones this process serves, so each summary can
 *   be posted); all when not given.
 * @returns Each ended party with its summary, to post in its channel.
 */
export async function endIdleParties(
  services: PartyServices,
  now = new Date(),
  platforms?: readonly string[],
): Promise<{ party: PartyRecord; summary: PartySummaryAnswer }[]> {
  const before = new Date(now.getTime() - services.app.config.party.idleMinutes * 60_000);
  const out: { party: PartyRecord; summary: PartySummaryAnswer }[] = [];
  for (const party of await services.parties.idleSince(before)) {
    if (platforms !== undefined && !platforms.includes(party.platform)) continue;
    // One party's failure (its summary, the database) never keeps the others from ending.
    try {
      const ended = await services.parties.end(party.id);
      if (ended) out.push({ party: ended, summary: await summarize(services, ended, "idle") });
    } catch (err) {
      services.logger.warn("A quiet party could not be ended or summarised", { err, party: party.id });
    }
  }
  return out;
}

/**
 * The party on in a channel, asked for a message not addressed to the bot (a share, a mention).
 * While the catalog's database does not answer nobody can tell: the message is taken as outside a
 * party (a passing message is left alone rather than answered with an error in every channel; the
 * outage itself is logged once by the app).
 *
 * @param services The party store and a logger.
 * @param channel Where the message was posted.
 * @returns The party, or `undefined`.
 */
export async function partyForMessage(
  services: Pick<PartyServices, "parties" | "logger">,
  channel: PartyChannel,
): Promise<PartyRecord | undefined> {
  try {
    return await services.parties.active(channel);
  } catch (err) {
    if (!isSoundalikeError(err, ErrorCode.CatalogUnreachable)) throw err;
    services.logger.debug("Party check skipped: the catalog database does not answer", { channel });
    return undefined;
  }
}

/**
 * Handles a message in a channel: when a party is on there and the message carries audio files or
 * supported links, each (at most {@linkcode MAX_ITEMS_PER_MESSAGE}) is fetched, embedded, answered
 * with five tracks not yet suggested, and added to the party. Messages without audio, and channels
 * without a party, are left alone (no answer at all).
 *
 * @param services The bot's services and the party store.
 * @param share What was shared, by whom, where.
 * @returns One answer per item (tracks, or a notice saying why that item was refused), in order.
 */
export async function partyShare(
  services: PartyServices,
  share: PartyShare,
): Promise<(SimilarAnswer | NoticeAnswer)[]> {
  if (share.clips.length === 0 && share.links.length === 0) return [];
  const party = await partyForMessage(services, share.channel);
  if (party === undefined) return [];
  const refusal = admit(services, share.requester) ?? await admitShared(services, share.requester);
  if (refusal) return [refusal];
  const items = [
    ...share.clips.map((clip) => ({ kind: "clip" as const, clip })),
    ...share.links.map((link) => ({ kind: "link" as const, link })),
  ].slice(0, MAX_ITEMS_PER_MESSAGE);
  const answers: (SimilarAnswer | NoticeAnswer)[] = [];
  for (const it of items) {
    const started = performance.now();
    // A clip's declared type and size are checked before anything is downloaded, as for /similar.
    const refused = it.kind === "clip" ? checkClip(services, it.clip) : undefined;
    if (refused) {
      answers.push(refused);
      continue;
    }
    try {
      answers.push(
        await services.queue.run(async () => {
          const heard = it.kind === "clip"
            ? await withLocalClip(services, it.clip, async (path) => ({
              report: await services.app.analyze(path),
              title: it.clip.name,
              url: null as string | null,
            }))
            : await fetchLink(services, it.link);
          return await answerShare(services, party, share.requester, heard, started);
        }),
      );
    } catch (err) {
      answers.push(
        errorNotice(err, services.logger, {
          party: party.id,
          item: it.kind === "clip" ? it.clip.name : it.link,
        }),
      );
    }
  }
  return answers;
}

type Heard = {
  report: Awaited<ReturnType<BotServices["app"]["analyze"]>>;
  title: string;
  url: string | null;
};

async function fetchLink(services: PartyServices, link: string): Promise<Heard> {
  const cfg = services.app.config;
  const policy = { allowedHosts: cfg.party.linkHosts, privateHostsAllowed: cfg.party.linkPrivateHosts };
  const url = await checkLink(link, policy);
  return await withLinkAudio(url.toString(), {
    path: cfg.party.ytDlpPath,
    maxSeconds: cfg.party.linkMaxSeconds,
    maxBytes: cfg.maxUploadBytes,
    timeoutMs: cfg.party.linkTimeoutSeconds * 1000,
    policy,
    signal: services.signal,
  }, async (media) => ({
    report: await services.app.analyze(media.path),
    title: media.uploader ? `${media.title} (${media.uploader})` : media.title,
    url: media.webpageUrl,
  }));
}

async function answerShare(
  services: PartyServices,
  party: PartyRecord,
  by: Requester,
  heard: Heard,
  started: number,
): Promise<SimilarAnswer> {
  // Re-read: another share may have been answered while this one was fetched.
  const items = await services.parties.items(party.id);
  const exclude = heardTracks(items);
  if (heard.report.catalogTrackId !== undefined) exclude.add(heard.report.catalogTrackId);
  const found = await services.app.similarToVector(heard.report.vector, {
    k: SUGGESTIONS,
    exclude,
    // a short share is searched as /similar searches a short clip
    clipSeconds: heard.report.seconds,
  });
  const labels = topLabels(heard.report.hearing);
  const trackLabels = await labelsOf(services, found.recommendations.map((r) => r.trackId));
  await services.parties.add(party.id, [
    {
      kind: "shared",
      trackId: heard.report.catalogTrackId ?? null,
      title: heard.title,
      artist: null,
      url: heard.url,
      durationSeconds: heard.report.seconds,
      by: by.name,
      vector: heard.report.vector,
      labels: labels.map(stored),
      similarity: null,
    },
    ...found.recommendations.map((r) =>
      item("suggested", r, null, (trackLabels.get(r.trackId) ?? []).map(stored))
    ),
  ]);
  return similarAnswer({
    heading: `Party picks like ${heard.title}`,
    hearing: labels,
    recommendations: found.recommendations,
    trackLabels,
    notes: heard.report.truncated
      ? [`listened to the first ${formatClock(services.app.config.maxClipSeconds)}`]
      : [],
    elapsedMs: performance.now() - started,
    index: found.index,
    method: found.method,
    indexVersion: found.indexVersion,
  });
}

async function summarize(
  services: PartyServices,
  party: PartyRecord,
  ended: "stopped" | "idle",
): Promise<PartySummaryAnswer> {
  const items = await services.parties.items(party.id);
  const lead = leadingLabels(sharedClips(items));
  const entries: PlaylistEntry[] = items.map((i) => ({
    kind: i.kind,
    title: i.title,
    artist: i.artist,
    url: i.url,
    durationSeconds: i.durationSeconds,
    by: i.by,
    at: i.createdAt,
  }));
  const slug = party.name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "party";
  // The party's number keeps two parties of the same name on the same day from sharing files.
  const base = `${slug}-${party.startedAt.toISOString().slice(0, 10)}-${party.id}`;
  const shares = (task: HeardLabel["task"]) =>
    (lead.get(task) ?? []).slice(0, 3).map((l) => ({ label: l.label, share: l.share }));
  return {
    kind: "party_summary",
    name: party.name,
    startedBy: party.startedBy,
    ended,
    minutes: Math.max(
      0,
      Math.round(((party.endedAt ?? new Date()).getTime() - party.startedAt.getTime()) / 60_000),
    ),
    shared: items.filter((i) => i.kind === "shared").map((i) => ({ title: i.title, by: i.by, url: i.url })),
    suggested: items.filter((i) => i.kind === "suggested").length,
    picked: items.filter((i) => i.kind === "next").length,
    genres: shares("genre"),
    moods: shares("emotion"),
    files: [
      { name: `${base}.m3u`, type: "audio/x-mpegurl", content: toM3u(party.name, entries) },
      { name: `${base}.csv`, type: "text/csv", content: toCsv(entries) },
    ],
  };
}

/** The shared clips with their vectors, oldest first (what the vibe is made of). */
function sharedClips(items: readonly PartyItemRecord[]): SharedClip[] {
  return items.filter((i) => i.kind === "shared" && i.vector !== null)
    .map((i) => ({ vector: i.vector!, labels: heardLabels(i.labels) }));
}

/** Catalog tracks the party has had: shared (catalog files), suggested or picked. */
function heardTracks(items: readonly PartyItemRecord[]): Set<number> {
  return new Set(items.flatMap((i) => (i.trackId === null ? [] : [i.trackId])));
}

function item(
  kind: "suggested" | "next",
  track: {
    trackId: number;
    title: string;
    artist: string | null;
    url: string | null;
    durationSeconds: number | null;
    similarity: number;
  },
  by: string | null,
  labels: StoredLabel[],
): NewPartyItem {
  return {
    kind,
    trackId: track.trackId,
    title: track.title,
    artist: track.artist,
    url: track.url,
    durationSeconds: track.durationSeconds,
    by,
    vector: null,
    labels,
    similarity: track.similarity,
  };
}

function stored(l: StoredLabel): StoredLabel {
  return { task: l.task, className: l.className, probability: l.probability };
}

function minutesSince(t: Date): number {
  return Math.max(0, Math.round((Date.now() - t.getTime()) / 60_000));
}

function noParty(): NoticeAnswer {
  return notice("info", "no_party", "No party is on in this channel: /party start begins one");
}

function notAHost(request: PartyRequest): NoticeAnswer {
  return notice(
    "error",
    "forbidden",
    request.requester.platform === "discord"
      ? "Only members who can manage messages here can start or stop a party"
      : "Only the bot's admins can start or stop a party here",
  );
}
