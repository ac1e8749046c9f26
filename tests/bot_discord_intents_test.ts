/**
 * Without the privileged Message Content intent the Discord bot still starts and answers commands,
 * and says in the log what to enable for listening parties.
 */
import assert from "node:assert/strict";
import { startBot } from "../bot/bot.ts";
import { createMemoryLogger } from "../core/logger.ts";
import { openTestCatalog } from "./catalog_fixture.ts";
import { startDiscordFake } from "./fakes/discord_fake.ts";
import { slashCommand } from "./fakes/discord_requests.ts";

Deno.test("Discord: a refused Message Content intent is logged and the bot serves commands without it", async () => {
  const discord = startDiscordFake({ refusePrivilegedIntents: true });
  const { logger, records } = createMemoryLogger();
  const catalog = await openTestCatalog({
    tracks: 4,
    logger,
    env: {
      DISCORD_TOKEN: "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123",
      DISCORD_API_URL: discord.apiUrl,
    },
  });
  const bot = await startBot({ config: catalog.app.config, logger, app: catalog.app });
  try {
    assert.equal(bot.discord?.readsMessages, false);
    assert.ok(
      records.some((r) =>
        r.level === "warn" && /Message Content intent.*Privileged Gateway Intents/.test(r.msg)
      ),
    );
    const { token } = discord.interact(slashCommand("help"));
    const reply = await discord.waitFor((c) => c.path.includes(`/${token}/`) && c.path.endsWith("/callback"));
    assert.equal((reply.body as { type: number }).type, 4);
  } finally {
    await bot.stop();
    await discord.close();
    await catalog.close();
  }
});
