/**
 * Answers as Discord messages: a header line saying what the clip sounds like, one embed per track
 * (title linking to its page, artist, album, genre, similarity, duration, license), the time taken
 * in the last footer, and buttons ("More like #n", and a link to each track's page). Pure functions
 * returning API payloads, so they are tested without a connection.
 * @module
 */
import {
  type APIActionRowComponent,
  type APIButtonComponent,
  type APIEmbed,
  ButtonStyle,
  ComponentType,
} from "discord.js";
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

/** Mentions allowed in the bot's messages: none. */
export interface NoMentions {
  parse: [];
  repliedUser: false;
}

/**
 * Mention nobody: answers carry text others control (a party's name, a shared file's name, a
 * linked video's title), and an "@everyone" or "<@&role>" in it must not ping anyone; a reply does
 * not ping the author of the message it answers either. A fresh object each time.
 *
 * @returns `{ parse: [], repliedUser: false }`.
 */
export function noMentions(): NoMentions {
  return { parse: [], repliedUser: false };
}

/** What is sent to Discord for one answer. */
export interface DiscordMessage {
  content: string;
  embeds: APIEmbed[];
  components: APIActionRowComponent<APIButtonComponent>[];
  /** Always {@linkcode noMentions}, on every send, reply, edit and follow-up. */
  allowedMentions: NoMentions;
}

/** Custom id prefix of "More like #n" buttons: `more:<trackId>`. */
export const MORE_LIKE_PREFIX = "more:";

const BRAND = 0x5b8def;
const ERROR = 0xe5534b;
const OK = 0x3fb950;
const TASK_WORD: Record<string, string> = { genre: "", emotion: "mood ", instrument: "" };

/**
 * `**Hip-hop** 62 % · mood **Cheerful, fun** 48 % · **Piano** 71 %`.
 *
 * @param labels What the models hear.
 * @returns Markdown.
 */
export function hearingMarkdown(labels: readonly HeardLabel[]): string {
  return labels.map((l) => `${TASK_WORD[l.task] ?? ""}**${l.label}** ${Math.round(l.probability * 100)} %`)
    .join(" · ");
}

/**
 * Renders an answer as a Discord message.
 *
 * @param answer The answer.
 * @returns Content, embeds and components (empty arrays clear old ones on an edit).
 */
export function renderDiscord(answer: Answer): DiscordMessage {
  return { ...renderBody(answer), allowedMentions: noMentions() };
}

function renderBody(answer: Answer): Omit<DiscordMessage, "allowedMentions"> {
  switch (answer.kind) {
    case "similar":
      return renderSimilar(answer);
    case "notice": {
      const icon = answer.tone === "error" ? "⚠️" : answer.tone === "wait" ? "⏳" : "ℹ️";
      return { content: `${icon} ${answer.text}`, embeds: [], components: [] };
    }
    case "help":
      return {
        content: "",
        embeds: [{
          title: "Soundalike",
          description: answer.intro,
          color: BRAND,
          fields: answer.commands.map((c) => ({ name: c.usage, value: c.description })),
          footer: { text: answer.footer },
        }],
        components: [],
      };
    case "reindex_progress": {
      return {
        content: `🔄 Reindexing \`${progressBar(answer.percent)}\` ${
          progressText(answer)
        } (started by ${answer.startedBy})`,
        embeds: [],
        components: [],
      };
    }
    case "reindex_summary":
      return renderSummary(answer);
    case "party_next": {
      const t = answer.track;
      return {
        content: `🎶 Next for **${clip(answer.party, 100)}**`,
        embeds: [{
          title: clip(`${t.title}`, 256),
          ...(t.url ? { url: t.url } : {}),
          description: `by **${clip(t.artist ?? "Unknown artist", 200)}**\n${answer.reason}`,
          color: BRAND,
          fields: [
            { name: "Genre", value: t.genre ?? "—", inline: true },
            {
              name: "Duration",
              value: durationText(t.durationSeconds),
              inline: true,
            },
            ...(t.license ? [{ name: "License", value: clip(t.license, 200), inline: false }] : []),
          ],
        }],
        components: rows([
          {
            type: ComponentType.Button,
            style: ButtonStyle.Secondary,
            label: "More like this",
            custom_id: `${MORE_LIKE_PREFIX}${t.trackId}`,
          },
          ...(t.url && /^https?:\/\//.test(t.url)
            ? [
              {
                type: ComponentType.Button,
                style: ButtonStyle.Link,
                label: "Track page",
                url: t.url,
              } as APIButtonComponent,
            ]
            : []),
        ] as APIButtonComponent[]),
      };
    }
    case "party_status":
      return {
        content: "",
        embeds: [{
          title: `🎉 ${clip(answer.name, 200)}`,
          description: `Started by ${clip(answer.startedBy, 100)} ${answer.minutes} min ago` +
            (answer.leading.length ? `\nSo far it sounds like ${hearingMarkdown(answer.leading)}` : ""),
          color: BRAND,
          fields: [
            { name: "Shared", value: String(answer.shared), inline: true },
            { name: "Suggested", value: String(answer.suggested), inline: true },
            { name: "Picked", value: String(answer.picked), inline: true },
          ],
        }],
        components: [],
      };
    case "party_summary": {
      const shared = listedWithMore(
        answer.shared,
        15,
        (s) => `• ${clip(s.title, 90)}${s.by ? ` (${clip(s.by, 40)})` : ""}`,
      );
      return {
        content: "",
        embeds: [{
          title: `🎉 ${clip(answer.name, 200)} ${
            answer.ended === "idle" ? "ended after a quiet spell" : "is over"
          }`,
          color: OK,
          fields: [
            { name: "Duration", value: `${answer.minutes} min`, inline: true },
            { name: "Shared", value: String(answer.shared.length), inline: true },
            { name: "Suggested", value: String(answer.suggested), inline: true },
            { name: "Leading genres", value: clip(shareList(answer.genres), 1024), inline: false },
            { name: "Leading moods", value: clip(shareList(answer.moods), 1024), inline: false },
            ...(shared.length
              ? [{ name: "What was shared", value: clip(shared.join("\n"), 1024), inline: false }]
              : []),
          ],
          footer: { text: "The playlist is attached as M3U and CSV" },
        }],
        components: [],
      };
    }
  }
}

function renderSimilar(a: SimilarAnswer): Omit<DiscordMessage, "allowedMentions"> {
  const header = [`🎧 **${clip(a.heading, 200)}**${a.notes.length ? ` (${a.notes.join(" · ")})` : ""}`];
  if (a.hearing.length) header.push(`Sounds like ${hearingMarkdown(a.hearing)}`);
  if (a.tracks.length === 0) {
    header.push("No catalog track matched: the catalog may be empty or the filter too narrow.");
  }
  const embeds: APIEmbed[] = a.tracks.map((t) => {
    const lines = [
      `by **${clip(t.artist ?? "Unknown artist", 200)}**${t.album ? ` · ${clip(t.album, 200)}` : ""}`,
    ];
    if (t.shared.length) lines.push(`Shares: ${t.shared.map((s) => s.label).join(", ")}`);
    const fields = [
      { name: "Similarity", value: `${t.similarity.toFixed(1)} %`, inline: true },
      { name: "Genre", value: t.genre ?? "—", inline: true },
      {
        name: "Duration",
        value: durationText(t.durationSeconds),
        inline: true,
      },
    ];
    if (t.license) fields.push({ name: "License", value: clip(t.license, 200), inline: false });
    return {
      title: clip(`#${t.rank} ${t.title}`, 256),
      ...(t.url ? { url: t.url } : {}),
      description: lines.join("\n"),
      color: BRAND,
      fields,
    };
  });
  const last = embeds.at(-1);
  const footer = answeredLine(a);
  if (last) last.footer = { text: footer };
  else header.push(`-# ${footer}`);
  const more: APIButtonComponent[] = a.tracks.map((t) => ({
    type: ComponentType.Button,
    style: ButtonStyle.Secondary,
    label: `More like #${t.rank}`,
    custom_id: `${MORE_LIKE_PREFIX}${t.trackId}`,
  }));
  const links: APIButtonComponent[] = a.tracks.filter((t) => t.url && /^https?:\/\//.test(t.url)).map((
    t,
  ) => ({
    type: ComponentType.Button,
    style: ButtonStyle.Link,
    label: `#${t.rank} page`,
    url: t.url!,
  }));
  return { content: header.join("\n"), embeds, components: [...rows(more), ...rows(links)].slice(0, 5) };
}

function renderSummary(a: ReindexSummaryAnswer): Omit<DiscordMessage, "allowedMentions"> {
  if (!a.ok) {
    return {
      content: "",
      embeds: [{ title: "Reindex failed", description: a.error ?? "", color: ERROR }],
      components: [],
    };
  }
  const skipped = listedWithMore(a.skipped, 10, (s) => `• \`${clip(s.item, 80)}\`: ${clip(s.reason, 150)}`);
  const fields = [
    { name: "Tracks", value: String(a.indexedTracks), inline: true },
    { name: "Newly embedded", value: String(a.embedded), inline: true },
    { name: "From the cache", value: String(a.cached), inline: true },
    { name: "Removed", value: String(a.removed), inline: true },
    { name: "Duplicates", value: String(a.duplicates.length), inline: true },
    { name: "Entries skipped", value: String(a.skipped.length), inline: true },
  ];
  if (skipped.length) {
    fields.push({ name: "Skipped files and rows", value: clip(skipped.join("\n"), 1024), inline: false });
  }
  return {
    content: "",
    embeds: [{
      title: `Reindex done: index v${a.indexVersion}`,
      color: OK,
      fields,
      footer: { text: `Took ${formatEta(a.seconds)}` },
    }],
    components: [],
  };
}

function rows(buttons: APIButtonComponent[]): APIActionRowComponent<APIButtonComponent>[] {
  const out: APIActionRowComponent<APIButtonComponent>[] = [];
  for (let i = 0; i < buttons.length; i += 5) {
    out.push({ type: ComponentType.ActionRow, components: buttons.slice(i, i + 5) });
  }
  return out;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
