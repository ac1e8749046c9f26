/**
 * Answers as Slack Block Kit: a header with what the clip sounds like, then per track a section
 * with fields, a context line (license, page link, what it shares) and buttons ("More like #n" and
 * the page). Pure functions returning `{ text, blocks }`, tested without a connection.
 * @module
 */
import {
  type Answer,
  answeredLine,
  durationText,
  formatEta,
  type HeardLabel,
  listedWithMore,
  progressBar,
  progressText,
  type ReindexSummaryAnswer,
  shareList,
  type SimilarAnswer,
} from "../answer.ts";

/** A Block Kit block (kept loose: Slack's own types are large and this module only builds JSON). */
export type Block = Record<string, unknown>;

/** What is sent to Slack for one answer: notification text and blocks. */
export interface SlackMessage {
  text: string;
  blocks: Block[];
}

/** Action id of "More like #n" buttons (the value is the catalog track id). */
export const MORE_LIKE_ACTION = "more_like";

const TASK_WORD: Record<string, string> = { genre: "", emotion: "mood ", instrument: "" };

/**
 * Escapes text for mrkdwn (`&`, `<`, `>`), so catalog titles cannot inject links or mentions.
 *
 * @param text Plain text.
 * @returns Escaped text.
 * @example
 * ```ts
 * import { escapeMrkdwn } from "./render.ts";
 * console.assert(escapeMrkdwn("<!channel> & co") === "&lt;!channel&gt; &amp; co");
 * ```
 */
export function escapeMrkdwn(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

const md = (text: string): Block => ({ type: "mrkdwn", text });
/** A section; Slack refuses a section text over 3,000 characters (escaping can lengthen text). */
const section = (text: string): Block => ({
  type: "section",
  text: md(text.length <= 3000 ? text : `${text.slice(0, 2999)}…`),
});

function hearing(labels: readonly HeardLabel[]): string {
  return labels.map((l) =>
    `${TASK_WORD[l.task] ?? ""}*${escapeMrkdwn(l.label)}* ${Math.round(l.probability * 100)} %`
  )
    .join(" · ");
}

/**
 * Renders an answer as Block Kit.
 *
 * @param answer The answer.
 * @returns Notification text and blocks.
 */
export function renderSlack(answer: Answer): SlackMessage {
  // The notification text carries what users control (a party's name, a file's or video's title):
  // escaped like the blocks, so a "<!channel>" in a title notifies nobody.
  const message = renderBody(answer);
  return { ...message, text: escapeMrkdwn(message.text) };
}

function renderBody(answer: Answer): SlackMessage {
  switch (answer.kind) {
    case "similar":
      return renderSimilar(answer);
    case "notice": {
      const icon = answer.tone === "error"
        ? ":warning:"
        : answer.tone === "wait"
        ? ":hourglass_flowing_sand:"
        : ":information_source:";
      return { text: answer.text, blocks: [section(`${icon} ${escapeMrkdwn(answer.text)}`)] };
    }
    case "help":
      return {
        text: answer.intro,
        blocks: [
          section(`*Soundalike*\n${escapeMrkdwn(answer.intro)}`),
          section(
            answer.commands.map((c) => `• \`${escapeMrkdwn(c.usage)}\` ${escapeMrkdwn(c.description)}`).join(
              "\n",
            ),
          ),
          { type: "context", elements: [md(escapeMrkdwn(answer.footer))] },
        ],
      };
    case "reindex_progress": {
      return {
        text: `Reindexing ${progressText(answer)}`,
        blocks: [section(
          `:arrows_counterclockwise: Reindexing \`${progressBar(answer.percent)}\` ${progressText(answer)} ` +
            `(started by ${escapeMrkdwn(answer.startedBy)})`,
        )],
      };
    }
    case "reindex_summary":
      return renderSummary(answer);
    case "party_next": {
      const t = answer.track;
      const title = escapeMrkdwn(t.title);
      const text = `Next for ${answer.party}: ${t.title} by ${t.artist ?? "Unknown artist"}`;
      return {
        text,
        blocks: [
          section(
            `:notes: Next for *${escapeMrkdwn(answer.party)}*: *${
              t.url ? `<${t.url}|${title}>` : title
            }* by *${escapeMrkdwn(t.artist ?? "Unknown artist")}*\n${escapeMrkdwn(answer.reason)}`,
          ),
          {
            type: "actions",
            elements: [{
              type: "button",
              action_id: `${MORE_LIKE_ACTION}_1`,
              text: { type: "plain_text", text: "More like this" },
              value: String(t.trackId),
            }],
          },
        ],
      };
    }
    case "party_status": {
      const text =
        `${answer.name}: ${answer.shared} shared, ${answer.suggested} suggested, ${answer.picked} picked`;
      return {
        text,
        blocks: [section(
          `:tada: *${escapeMrkdwn(answer.name)}*, started by ${
            escapeMrkdwn(answer.startedBy)
          } ${answer.minutes} min ago: ` +
            `${answer.shared} shared, ${answer.suggested} suggested, ${answer.picked} picked` +
            (answer.leading.length ? `\nSo far it sounds like ${hearing(answer.leading)}` : ""),
        )],
      };
    }
    case "party_summary": {
      const text = `${answer.name} ${answer.ended === "idle" ? "ended after a quiet spell" : "is over"}`;
      const shared = listedWithMore(
        answer.shared,
        15,
        (s) => `• ${escapeMrkdwn(s.title)}${s.by ? ` (${escapeMrkdwn(s.by)})` : ""}`,
      );
      return {
        text,
        blocks: [
          section(
            `:tada: *${
              escapeMrkdwn(text)
            }*: ${answer.minutes} min, ${answer.shared.length} shared, ${answer.suggested} suggested, ${answer.picked} picked`,
          ),
          {
            type: "section",
            fields: [
              md(`*Leading genres*\n${shareList(answer.genres, escapeMrkdwn)}`),
              md(`*Leading moods*\n${shareList(answer.moods, escapeMrkdwn)}`),
            ],
          },
          ...(shared.length ? [section(shared.join("\n").slice(0, 2900))] : []),
          { type: "context", elements: [md("The playlist follows as M3U and CSV files")] },
        ],
      };
    }
  }
}

function renderSimilar(a: SimilarAnswer): SlackMessage {
  const head = [
    `:headphones: *${escapeMrkdwn(a.heading)}*${
      a.notes.length ? ` (${escapeMrkdwn(a.notes.join(" · "))})` : ""
    }`,
  ];
  if (a.hearing.length) head.push(`Sounds like ${hearing(a.hearing)}`);
  if (a.tracks.length === 0) {
    head.push("No catalog track matched: the catalog may be empty or the filter too narrow.");
  }
  const blocks: Block[] = [section(head.join("\n"))];
  for (const t of a.tracks) {
    const title = escapeMrkdwn(`#${t.rank} ${t.title}`);
    const linked = t.url ? `<${t.url}|${title}>` : title;
    blocks.push({
      type: "section",
      text: md(`*${linked}* by *${escapeMrkdwn(t.artist ?? "Unknown artist")}*`),
      fields: [
        md(`*Similarity*\n${t.similarity.toFixed(1)} %`),
        md(`*Genre*\n${escapeMrkdwn(t.genre ?? "—")}`),
        md(`*Album*\n${escapeMrkdwn(t.album ?? "—")}`),
        md(`*Duration*\n${durationText(t.durationSeconds)}`),
      ],
    });
    const context = [t.license ? escapeMrkdwn(t.license) : "License unknown"];
    if (t.url) context.push(`<${t.url}|Track page>`);
    if (t.shared.length) context.push(`Shares ${t.shared.map((s) => escapeMrkdwn(s.label)).join(", ")}`);
    blocks.push({ type: "context", elements: [md(context.join(" · "))] });
    const buttons: Block[] = [{
      type: "button",
      action_id: `${MORE_LIKE_ACTION}_${t.rank}`,
      text: { type: "plain_text", text: `More like #${t.rank}` },
      value: String(t.trackId),
    }];
    if (t.url && /^https?:\/\//.test(t.url)) {
      buttons.push({
        type: "button",
        action_id: `open_page_${t.rank}`,
        text: { type: "plain_text", text: "Open page" },
        url: t.url,
      });
    }
    blocks.push({ type: "actions", elements: buttons });
  }
  blocks.push({
    type: "context",
    elements: [md(answeredLine(a))],
  });
  return { text: `${a.tracks.length} tracks: ${a.heading}`, blocks };
}

function renderSummary(a: ReindexSummaryAnswer): SlackMessage {
  if (!a.ok) {
    return {
      text: `Reindex failed: ${a.error}`,
      blocks: [section(`:x: *Reindex failed*: ${escapeMrkdwn(a.error ?? "")}`)],
    };
  }
  const text = `Reindex done: ${a.indexedTracks} tracks in index v${a.indexVersion}`;
  const blocks: Block[] = [
    section(`:white_check_mark: *${text}* (took ${formatEta(a.seconds)})`),
    {
      type: "section",
      fields: [
        md(`*Newly embedded*\n${a.embedded}`),
        md(`*From the cache*\n${a.cached}`),
        md(`*Removed*\n${a.removed}`),
        md(`*Duplicates*\n${a.duplicates.length}`),
        md(`*Entries skipped*\n${a.skipped.length}`),
      ],
    },
  ];
  if (a.skipped.length) {
    const lines = listedWithMore(
      a.skipped,
      10,
      (s) => `• \`${escapeMrkdwn(s.item)}\`: ${escapeMrkdwn(s.reason)}`,
    );
    blocks.push(section(lines.join("\n").slice(0, 2900)));
  }
  return { text, blocks };
}
