/**
 * `deno task register [--guild ID]`: registers Soundalike's commands with Discord, globally (they
 * show up within about an hour) or in one server (at once). Needs `DISCORD_TOKEN`; the
 * application id comes from `DISCORD_APPLICATION_ID` or from Discord.
 * @module
 */
import { parseCliArgs, runCli, UsageError } from "../core/cli/_run.ts";
import { registerCommands } from "./discord/commands.ts";

const USAGE = `
Usage: deno task register [--guild ID]

Registers /similar, "Find similar tracks", /reindex, /help and /party with Discord.
  --guild ID   only in this server (shows at once; good for testing)
Needs DISCORD_TOKEN (and DISCORD_APPLICATION_ID, or it is asked from Discord).
`;

if (import.meta.main) {
  await runCli(USAGE, async ({ config }) => {
    const { values, positionals } = parseCliArgs({ guild: { type: "string" } });
    if (positionals.length > 0) throw new UsageError(`Unexpected argument: ${positionals[0]}`);
    if (values.guild !== undefined && !/^\d{15,22}$/.test(values.guild)) {
      throw new UsageError("--guild must be a server id (right-click the server, Copy Server ID)");
    }
    if (!config.discord) throw new UsageError("Set DISCORD_TOKEN to the bot's token first");
    const report = await registerCommands(config.discord, {
      guildId: values.guild,
      maxResults: config.bot.maxResults,
    });
    console.log(
      `Registered ${report.commands.map((c) => JSON.stringify(c)).join(", ")} for application ` +
        `${report.applicationId} (${report.scope === "global" ? "globally" : `in server ${report.scope}`})`,
    );
  });
}
