/**
 * The Discord application commands, built with discord.js's builders: `/similar`, the message
 * context-menu command "Find similar tracks", `/reindex` (Manage Server by default, and checked
 * again when it runs), `/help` and `/party start|next|status|stop`. `deno task register` sends
 * these to Discord.
 * @module
 */
import {
  type APIApplication,
  ApplicationCommandType,
  ContextMenuCommandBuilder,
  InteractionContextType,
  PermissionFlagsBits,
  REST,
  type RESTPostAPIApplicationCommandsJSONBody,
  Routes,
  SlashCommandBuilder,
} from "discord.js";
import type { DiscordConfig } from "../../core/mod.ts";

/** The context-menu command's name, as users see it. */
export const FIND_SIMILAR = "Find similar tracks";

/**
 * The command definitions.
 *
 * @param maxResults The largest `k` users may ask for (1-10).
 * @returns JSON bodies for Discord's bulk-overwrite endpoint.
 */
export function discordCommands(maxResults = 10): RESTPostAPIApplicationCommandsJSONBody[] {
  const similar = new SlashCommandBuilder()
    .setName("similar")
    .setDescription("Find catalog tracks that sound like a clip")
    .setContexts(InteractionContextType.Guild, InteractionContextType.BotDM)
    .addAttachmentOption((o) =>
      o.setName("clip").setDescription("An audio clip: MP3, OGG, WAV, FLAC, M4A…").setRequired(true)
    )
    .addIntegerOption((o) =>
      o.setName("k").setDescription(`How many tracks (1-${maxResults})`).setMinValue(1).setMaxValue(
        maxResults,
      )
    )
    .addStringOption((o) =>
      o.setName("genre").setDescription("Only tracks of this genre").setAutocomplete(true).setMaxLength(100)
    )
    .addStringOption((o) =>
      o.setName("start").setDescription("Where the clip starts, like 1:30").setMaxLength(12)
    );
  const findSimilar = new ContextMenuCommandBuilder()
    .setName(FIND_SIMILAR)
    .setType(ApplicationCommandType.Message)
    .setContexts(InteractionContextType.Guild, InteractionContextType.BotDM);
  const reindex = new SlashCommandBuilder()
    .setName("reindex")
    .setDescription("Rebuild the catalog and its search index (server managers)")
    .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
    .setContexts(InteractionContextType.Guild);
  const help = new SlashCommandBuilder().setName("help").setDescription(
    "What Soundalike does and how to use it",
  );
  const party = new SlashCommandBuilder()
    .setName("party")
    .setDescription("A listening party in this channel: shared songs are answered and folded into its taste")
    .setContexts(InteractionContextType.Guild)
    .addSubcommand((c) =>
      c.setName("start").setDescription("Start a party in this channel")
        .addStringOption((o) => o.setName("name").setDescription("The party's name").setMaxLength(80))
    )
    .addSubcommand((c) => c.setName("next").setDescription("What to play next, from the party's taste"))
    .addSubcommand((c) => c.setName("status").setDescription("How the party is going"))
    .addSubcommand((c) => c.setName("stop").setDescription("End the party, with a summary and its playlist"));
  return [similar.toJSON(), findSimilar.toJSON(), reindex.toJSON(), help.toJSON(), party.toJSON()];
}

/** What {@linkcode registerCommands} did. */
export interface RegisterReport {
  applicationId: string;
  /** `global`, or the guild's id. */
  scope: string;
  commands: string[];
}

/**
 * Registers (overwrites) the commands with Discord: globally (they appear within about an hour)
 * or in one guild (at once, for testing).
 *
 * @param config The token and REST base; the application id is asked from Discord when not set.
 * @param options `guildId` for one guild; `maxResults` for `/similar`'s `k`.
 * @returns The application, scope and command names.
 */
export async function registerCommands(
  config: DiscordConfig,
  options: { guildId?: string | undefined; maxResults?: number } = {},
): Promise<RegisterReport> {
  const rest = new REST({ api: config.apiUrl }).setToken(config.token);
  const applicationId = config.applicationId ??
    ((await rest.get(Routes.currentApplication())) as APIApplication).id;
  const body = discordCommands(options.maxResults);
  await rest.put(
    options.guildId
      ? Routes.applicationGuildCommands(applicationId, options.guildId)
      : Routes.applicationCommands(applicationId),
    { body },
  );
  return { applicationId, scope: options.guildId ?? "global", commands: body.map((c) => c.name) };
}
