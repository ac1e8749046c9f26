/**
 * `deno task bot`: the long-running bot. Discord when `DISCORD_TOKEN` is set, Slack when its
 * credentials are, both when both are; with neither, the console mode on this terminal.
 * SIGINT/SIGTERM stop it cleanly (exit 0). When the catalog's database does not answer at start, one
 * sentence names it and the exit code is 75 (try again later); any other failure to start exits 1.
 * @module
 */
import {
  CatalogUnreachableError,
  createConsoleLogger,
  isSoundalikeError,
  loadConfig,
  type Logger,
} from "../core/mod.ts";
import { exitOnSignals } from "./_process.ts";
import { processLabels, startBot } from "./bot.ts";

if (import.meta.main) {
  let logger: Logger = createConsoleLogger("info");
  try {
    const config = loadConfig({ defaultLogLevel: "info" });
    logger = createConsoleLogger(config.logLevel, {
      format: config.scale.logFormat,
      fields: config.scale.queue || config.discord?.shards
        ? processLabels(config, config.scale.queue ? "chat" : "bot")
        : {},
    });
    const encoder = new TextEncoder();
    // Listening for signals before the (slow) warm start: a SIGTERM during it still ends cleanly.
    const exit = exitOnSignals();
    const bot = await startBot({
      config,
      logger,
      console: {
        input: Deno.stdin.readable,
        write: (text) => void Deno.stdout.writeSync(encoder.encode(text)),
        prompt: Deno.stdin.isTerminal(),
      },
    });
    await exit.started(bot);
    if (!exit.requested) await bot.finished;
    await exit.shutdown();
  } catch (err) {
    if (err instanceof CatalogUnreachableError) {
      // Its database is down: say which and why; a supervisor may start the bot again later.
      console.error(err.operatorMessage);
      Deno.exit(75);
    } else if (isSoundalikeError(err)) {
      console.error(err.message);
    } else {
      logger.error("The bot could not start", { err });
      console.error(`The bot could not start: ${err instanceof Error ? err.message : String(err)}`);
    }
    Deno.exit(1);
  }
}
