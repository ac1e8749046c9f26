/**
 * `/help`: what the bot does and how to use it on the platform asked from.
 * @module
 */
import { beforeDeadline } from "../deadline.ts";
import type { HelpAnswer, HelpEntry } from "../answer.ts";
import type { BotServices, Requester } from "../context.ts";

const COMMANDS: Record<Requester["platform"], HelpEntry[]> = {
  discord: [
    {
      usage: "/similar clip:<file> [k] [genre] [start]",
      description:
        "the catalog tracks that sound most like your clip (k 1-10, a genre, a start time like 1:30)",
    },
    { usage: "Apps → Find similar tracks", description: "the same for the audio attached to any message" },
    { usage: "More like #n", description: "the buttons under an answer search again from that track" },
    { usage: "/reindex", description: "rebuild the catalog and its index (server managers only)" },
    {
      usage: "/party start [name] | next | status | stop",
      description: "a listening party in this channel: shared songs and links are answered in threads",
    },
    { usage: "/help", description: "this message" },
  ],
  slack: [
    { usage: "/similar", description: "opens a form: upload a clip, get the tracks that sound most like it" },
    {
      usage: "@Soundalike + a file",
      description: "mention me in a message with an audio file: I answer in the thread",
    },
    {
      usage: "⋯ → Find similar tracks",
      description: "the message shortcut on any message with an audio file",
    },
    { usage: "More like #n", description: "the buttons under an answer search again from that track" },
    { usage: "/reindex", description: "rebuild the catalog and its index (admins only)" },
    {
      usage: "/party start [name] | next | status | stop",
      description: "a listening party in this channel: shared songs and links are answered in threads",
    },
    { usage: "/soundalike", description: "this message" },
  ],
  console: [
    {
      usage: "/similar <file> [--k 5] [--genre Jazz] [--start 1:30]",
      description: "the catalog tracks that sound most like a local audio file",
    },
    { usage: "/more <n>", description: "more like result #n of the last answer" },
    {
      usage: "/reindex [folder]",
      description:
        "re-read a catalog folder (or the configured one; other catalogs stay) and rebuild the index",
    },
    { usage: "/genres", description: "the genres you can filter by" },
    {
      usage: "/party start [name] | next | status | stop",
      description: "a listening party: then type file paths or links, one a line",
    },
    { usage: "/help", description: "this message" },
    { usage: "/quit", description: "leave (Ctrl-D works too)" },
  ],
};

/** How long help waits for the catalog's figures before answering without them. */
const HELP_STATS_WAIT_MS = 1500;

/**
 * The help for one platform, with the catalog's size.
 *
 * @param services The app (for catalog figures and whether its database answers).
 * @param platform Where it is shown.
 * @param now The clock (how long an outage has lasted). @default () => new Date()
 * @returns The help answer.
 */
export async function runHelp(
  services: Pick<BotServices, "app">,
  platform: Requester["platform"],
  now: () => Date = () => new Date(),
): Promise<HelpAnswer> {
  // Help is answered within Slack's and Discord's 3 s even when the database is slow or down.
  const stats = await beforeDeadline(services.app.stats().catch(() => undefined), HELP_STATS_WAIT_MS);
  const state = services.app.catalogState();
  const footer = !state.reachable
    ? `The catalog has been unreachable for ${outageLength(state.since, now())}: searches work again as ` +
      "soon as its database is back"
    : stats === undefined
    ? "Catalog details are unavailable right now"
    : stats.indexVersion === undefined
    ? "The catalog has no index yet: an admin can run /reindex"
    : `Catalog: ${stats.indexedTracks ?? 0} tracks · index v${stats.indexVersion}`;
  return {
    kind: "help",
    intro: "Send me a music clip and I'll answer with the catalog tracks that sound most like it. " +
      "I listen to the audio itself (genre, mood and instruments), so new and niche tracks work too.",
    commands: COMMANDS[platform],
    footer,
  };
}

/** "less than a minute", "1 min", "12 min", "2 h 5 min". */
function outageLength(since: Date, now: Date): string {
  const minutes = Math.floor((now.getTime() - since.getTime()) / 60_000);
  if (minutes < 1) return "less than a minute";
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
