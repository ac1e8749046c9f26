/**
 * The catalog's PostgreSQL stops under a running bot, then comes back: a throwaway cluster on a
 * port of its own (tests/throwaway_postgres.ts), the real bot in console mode over it. Users are
 * told the catalog is unreachable (and /help says so), the log has one line for the outage
 * (host and error code, no password, no SQL) and one for its end, and the next request after the
 * restart works without restarting the bot. The CLIs answer the outage with one sentence and
 * exit code 75.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startBot } from "../bot/bot.ts";
import { ExitCode } from "../core/cli/_run.ts";
import { createMemoryLogger, silentLogger } from "../core/logger.ts";
import { openTestCatalog, writeFixtureAudio } from "./catalog_fixture.ts";
import { startThrowawayPostgres, throwawayPostgresUnavailable } from "./throwaway_postgres.ts";

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

Deno.test({
  name:
    "a running bot tells users the catalog is unreachable while PostgreSQL is stopped, logs it once, and " +
    "answers again once it is back; the CLIs say so in one sentence with exit code 75",
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
    const config = catalog.app.config;
    await catalog.app.close();
    const query = join(catalog.dataDir, "query.mp3");
    await writeFixtureAudio(query, 40);
    const { logger, records } = createMemoryLogger();
    const io = consoleStreams();
    // No timers in the way: the index watcher and the party check run only when asked.
    const bot = await startBot({
      config,
      logger,
      console: { input: io.input, write: io.write, prompt: false },
      watchIntervalMs: 3_600_000,
      partyCheckIntervalMs: 3_600_000,
    });
    const similar = `/similar "${query}" --k 3`;
    const unreachable =
      /✗ The catalog is unreachable right now \(its database does not answer\): try again in a minute/;
    // What the operator's log (info and above) gained since the database stopped.
    let logged = 0;
    const operatorLines = () => records.slice(logged).filter((r) => r.level !== "debug");
    try {
      await t.step("with the database up, /similar answers", async () => {
        await io.ask(similar, /Tracks that sound like .*query\.mp3/);
      });

      await t.step("PostgreSQL stops: every request is told the catalog is unreachable", async () => {
        logged = records.length;
        await pg.stop();
        for (let i = 0; i < 3; i++) {
          const answer = await io.ask(similar, unreachable);
          assert.doesNotMatch(answer, /Something went wrong|select|hunter2/);
        }
        // Parties are stored in the database too.
        await io.ask("/party status", unreachable);
        const help = await io.ask("/help", /The catalog has been unreachable for/);
        assert.match(
          help,
          /The catalog has been unreachable for less than a minute: searches work again as soon as its database is back/,
        );
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

      await t.step("the CLIs answer with one sentence and exit code 75", async () => {
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
      });

      await t.step("PostgreSQL is back: the next request works, and the return is logged once", async () => {
        await pg.start();
        await io.ask(similar, /Tracks that sound like .*query\.mp3/);
        const help = await io.ask("/help", /Catalog: /);
        assert.match(help, /Catalog: 6 tracks · index v1/);
        const lines = operatorLines();
        assert.equal(lines.length, 2, JSON.stringify(lines));
        assert.equal(lines[1]!.level, "info");
        assert.match(
          lines[1]!.msg,
          new RegExp(`^The catalog database at ${pg.host} answers again after \\d+ s$`),
        );
      });
    } finally {
      io.end();
      await bot.stop();
      await catalog.close();
      await pg.destroy();
    }
    assert.deepEqual(records.filter((r) => r.level === "error"), [], "no crash was logged");
  },
});
