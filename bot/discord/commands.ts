/**
 * The Discord application commands, built with discord.js's builders: `/similar`, the message
 * context-menu command "Find similar tracks", `/reindex` (Manage Server by default, and checked
 * again when it runs) and `/help`. `deno task register` sends these to Discord.
 * @module
 */
import {
  ApplicationCommandType,
  ContextMenuCommandBuilder,
  InteractionContextType,
  PermissionFlagsBits,
  type RESTPostAPIApplicationCommandsJSONBody,
  SlashCommandBuilder,
} from "discord.js";

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
  return [similar.toJSON(), findSimilar.toJSON(), reindex.toJSON(), help.toJSON()];
}
