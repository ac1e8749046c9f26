/**
 * The catalog's PostgreSQL stops under a running bot, then comes back: a throwaway cluster on a
 * port of its own (tests/throwaway_postgres.ts), the real bot over it in console mode and on the
 * Discord and Slack fakes (one app behind both). Users are told the catalog is unreachable (and
 * help says so), the log has one line for the outage
 * (host and error code, no password, no SQL) and one for its end, and the next request after the
 * restart works without restarting the bot. The CLIs answer the outage with one sentence and
 * exit code 75.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startBot } from "../bot/bot.ts";
import { type App, createApp } from "../core/app.ts";
import { ExitCode } from "../core/cli/_run.ts";
import { parseConfig } from "../core/config.ts";
import { createMemoryLogger, silentLogger } from "../core/logger.ts";
import { openTestCatalog, spawnConsoleBot, writeFixtureAudio } from "./catalog_fixture.ts";
import { assertMentionsNobody, type RestCall, startDiscordFake } from "./fakes/discord_fake.ts";
import { attachment, similarCommand, slashCommand } from "./fakes/discord_requests.ts";
import { startFileServer } from "./fakes/file_server.ts";
import { sendSigned, type SlackCall, startSlackFake } from "./fakes/slack_fake.ts";
import { eventCallback, slashCommand as slackCommand } from "./fakes/slack_requests.ts";
import { startThrowawayPostgres, throwawayPostgresUnavailable } from "./throwaway_postgres.ts";

const DISCORD_TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123";
const SLACK_TOKEN = "xoxb-test-token";
const SLACK_SECRET = "test-signing-secret";

const REQUIRE_POSTGRES = Deno.env.get("SOUNDALIKE_REQUIRE_POSTGRES") === "1";
const skip = throwawayPostgresUnavailable !== null && !REQUIRE_POSTGRES;
if (skip) console.log(`Skipping the database outage tests: ${throwawayPostgresUnavailable}`);

/** The console's input, line by line, and everything it wrote. */
function consoleStreams() {
  const encoder = new TextEncoder();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const input = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  const io = {
    input,
    out: "",
    write: (text: string) => void (io.out += text),
    /** Types a line and waits until what the console writes after it matches `expected`. */
    async ask(line: string, expected: RegExp, timeoutMs = 60_000): Promise<string> {
      const from = io.out.length;
      controller.enqueue(encoder.encode(`${line}\n`));
      const until = performance.now() + timeoutMs;
      while (performance.now() < until) {
        const answer = io.out.slice(from);
        if (expected.test(answer)) return answer;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`No answer matching ${expected} to ${line}; the console wrote: ${io.out.slice(from)}`);
    },
    end: () => controller.close(),
  };
  return io;
}

/** The same app for another bot, which must not close it (the test does, once). */
const sharedApp = (app: App): App => ({ ...app, close: () => Promise.resolve() });

Deno.test({
  name:
    "a running bot tells console, Discord and Slack users the catalog is unreachable while PostgreSQL is " +
    "stopped, logs it once, and answers again once it is back; the CLIs say so in one sentence with exit code 75",
  ignore: skip,
  async fn(t) {
    if (throwawayPostgresUnavailable !== null) {
      throw new Error(
        `SOUNDALIKE_REQUIRE_POSTGRES=1 but no throwaway PostgreSQL: ${throwawayPostgresUnavailable}`,
      );
    }
    const pg = await startThrowawayPostgres();
    // The password is never checked (trust authentication): it is here to be kept out of the log.
    const url = pg.url.replace("postgres@", "postgres:hunter2@");
    const catalog = await openTestCatalog({ tracks: 6, env: { DATABASE_URL: url }, logger: silentLogger });
    await catalog.app.close();
    const discord = startDiscordFake();
    const cdn = startFileServer();
    const slack = startSlackFake(SLACK_TOKEN);
    const common = {
      SOUNDALIKE_DATA_DIR: catalog.dataDir,
      SOUNDALIKE_MODELS_DIR: join(Deno.cwd(), "models"),
      ORT_PROVIDER: "cpu",
      ORT_THREADS: "1",
      DATABASE_URL: url,
      SOUNDALIKE_BOT_RATE_PER_MINUTE: "1000",
    };
    const consoleConfig = parseConfig(common, { cwd: Deno.cwd() });
    const chatConfig = parseConfig({
      ...common,
      DISCORD_TOKEN,
      DISCORD_API_URL: discord.apiUrl,
      DISCORD_CDN_HOSTS: cdn.host,
      SLACK_BOT_TOKEN: SLACK_TOKEN,
      SLACK_SIGNING_SECRET: SLACK_SECRET,
      SLACK_API_URL: slack.apiUrl,
      SLACK_FILE_HOSTS: slack.host,
      SLACK_PORT: "0",
    }, { cwd: Deno.cwd() });
    const query = join(catalog.dataDir, "query.mp3");
    await writeFixtureAudio(query, 40);
    const queryBytes = await Deno.readFile(query);
    const clipUrl = cdn.route("/attachments/1/2/query.mp3", { bytes: queryBytes, type: "audio/mpeg" });
    const slackClip = slack.addFile("query.mp3", queryBytes, "audio/mpeg");

    // One app (one database pool, one outage watch) behind the console bot and a Discord + Slack bot.
    const { logger, records } = createMemoryLogger();
    const app = createApp(chatConfig, logger);
    const io = consoleStreams();
    // No timers in the way: the index watcher and the party check run only when asked.
    const quiet = { watchIntervalMs: 3_600_000, partyCheckIntervalMs: 3_600_000 };
    const consoleBot = await startBot({
      config: consoleConfig,
      logger,
      app: sharedApp(app),
      console: { input: io.input, write: io.write, prompt: false },
      ...quiet,
    });
    const chatBot = await startBot({ config: chatConfig, logger, app: sharedApp(app), ...quiet });
    const events = `http://127.0.0.1:${chatBot.slack!.port}/slack/events`;

    const similar = `/similar "${query}" --k 3`;
    const unreachableText =
      "The catalog is unreachable right now (its database does not answer): try again in a minute";
    const unreachable = new RegExp(`✗ ${unreachableText.replace(/[()]/g, "\\$&")}`);
    const outageFooter =
      /The catalog has been unreachable for less than a minute: searches work again as soon as its database is back/;
    const forToken = (token: string) => (c: RestCall) =>
      c.path.includes(`/${token}/`) || c.path.endsWith(`/${token}`);
    const contentOf = (c: RestCall) => JSON.stringify(c.body);
    const slackText = (c: SlackCall) => JSON.stringify(c.body);
    // What the operator's log (info and above) gained since the database stopped.
    let logged = 0;
    const operatorLines = () => records.slice(logged).filter((r) => r.level !== "debug");
    try {
      await discord.ready();
      await t.step("with the database up, /similar answers", async () => {
        await io.ask(similar, /Tracks that sound like .*query\.mp3/);
      });

      await t.step("PostgreSQL stops: console users are told the catalog is unreachable", async () => {
        logged = records.length;
        await pg.stop();
        for (let i = 0; i < 3; i++) {
          const answer = await io.ask(similar, unreachable);
          assert.doesNotMatch(answer, /Something went wrong|select|hunter2/);
        }
        // Parties are stored in the database too (a plain line is a party share).
        await io.ask("/party status", unreachable);
        await io.ask("just some words", unreachable);
        assert.match(await io.ask("/help", /The catalog has been unreachable for/), outageFooter);
      });

      await t.step("Discord users are told too, privately; /help shows the state", async () => {
        const asked = discord.interact(
          similarCommand(attachment(clipUrl, "query.mp3", "audio/mpeg", queryBytes.length)),
        );
        const followUp = await discord.waitFor((c) =>
          forToken(asked.token)(c) && c.method === "POST" && c.path.startsWith("/webhooks/")
        );
        assert.match(contentOf(followUp), new RegExp(unreachableText.replace(/[()]/g, "\\$&")));
        assert.equal((followUp.body as { flags?: number }).flags! & 64, 64, "ephemeral");
        const help = discord.interact(slashCommand("help"));
        const reply = await discord.waitFor((c) => forToken(help.token)(c) && c.path.endsWith("/callback"));
        assert.match(contentOf(reply), outageFooter);
      });

      await t.step("Slack users are told too; /soundalike shows the state", async () => {
        const ts = "2000.0001";
        await sendSigned(
          events,
          eventCallback("EvOutage", {
            type: "app_mention",
            user: "U1",
            text: "<@UBOT> what is this like?",
            ts,
            channel: "C1",
            event_ts: ts,
            files: [slackClip],
          }),
          "json",
          { secret: SLACK_SECRET },
        );
        await slack.waitFor((c) => slackText(c).includes(unreachableText));
        const res = await sendSigned(
          events,
          slackCommand("/soundalike", "", { user: "U1", channel: "C1" }, `${slack.apiUrl}response`),
          "form",
          { secret: SLACK_SECRET },
        );
        assert.match(res.text, outageFooter);
      });

      await t.step("the outage is one log line: the host and the error code, no password, no SQL", () => {
        const lines = operatorLines();
        assert.equal(lines.length, 1, JSON.stringify(lines));
        const [line] = lines;
        assert.equal(line!.level, "warn");
        assert.equal(
          line!.msg,
          `The catalog database at ${pg.host} does not answer: requests are refused until it is back`,
        );
        assert.equal(line!.ctx?.host, pg.host);
        assert.match(String(line!.ctx?.code), /^(ECONNREFUSED|CONNECTION_CLOSED|ECONNRESET|57P01|08\w{3})$/);
        assert.doesNotMatch(JSON.stringify(records), /hunter2/);
      });

      await t.step("the CLIs, and the bot starting, answer with one sentence and exit code 75", async () => {
        const env = {
          DATABASE_URL: url,
          SOUNDALIKE_DATA_DIR: catalog.dataDir,
          ORT_PROVIDER: "cpu",
          ORT_THREADS: "1",
          NO_COLOR: "1",
        };
        const sentence = new RegExp(
          `^The catalog database at ${pg.host.replaceAll(".", "\\.")} does not answer \\(ECONNREFUSED\\): ` +
            "start it or check DATABASE_URL, then try again\n$",
        );
        for (
          const [cli, args] of [["stats", []], ["similar", [query]], ["reindex", [
            catalog.catalogDir,
          ]]] as const
        ) {
          const out = await new Deno.Command(Deno.execPath(), {
            args: ["run", "-A", `core/cli/${cli}.ts`, ...args],
            env,
            stdout: "piped",
            stderr: "piped",
          }).output();
          const stderr = new TextDecoder().decode(out.stderr);
          assert.equal(out.code, ExitCode.Unavailable, `${cli}: ${stderr}`);
          assert.match(stderr, sentence, cli);
          assert.equal(new TextDecoder().decode(out.stdout), "", cli);
        }
        // The bot itself cannot start without its database: the same sentence, the same code.
        const bot = spawnConsoleBot(catalog.dataDir, { DATABASE_URL: url });
        await bot.stdin.close();
        const started = await bot.output();
        const stderr = new TextDecoder().decode(started.stderr);
        assert.equal(started.code, ExitCode.Unavailable, stderr);
        assert.match(stderr.split("\n").filter(Boolean).at(-1)! + "\n", sentence);
        assert.doesNotMatch(stderr, /hunter2/);
      });

      await t.step(
        "PostgreSQL is back: the next request works everywhere, and the return is logged once",
        async () => {
          await pg.start();
          await io.ask(similar, /Tracks that sound like .*query\.mp3/);
          assert.match(await io.ask("/help", /Catalog: /), /Catalog: 6 tracks · index v1/);
          const asked = discord.interact(
            similarCommand(attachment(clipUrl, "query.mp3", "audio/mpeg", queryBytes.length)),
          );
          const edit = await discord.waitFor((c) => forToken(asked.token)(c) && c.method === "PATCH");
          assert.match(contentOf(edit), /Tracks that sound like query\.mp3/);
          const lines = operatorLines();
          assert.equal(lines.length, 2, JSON.stringify(lines));
          assert.equal(lines[1]!.level, "info");
          assert.match(
            lines[1]!.msg,
            new RegExp(`^The catalog database at ${pg.host} answers again after \\d+ s$`),
          );
        },
      );
    } finally {
      io.end();
      await chatBot.stop();
      await consoleBot.stop();
      await app.close();
      await discord.close();
      await slack.close();
      await cdn.close();
      await catalog.close();
      await pg.destroy();
    }
    assert.deepEqual(records.filter((r) => r.level === "error"), [], "no crash was logged");
    assert.ok(assertMentionsNobody(discord.calls) >= 3, "the outage's Discord answers ping no one either");
  },
});
