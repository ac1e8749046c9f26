/**
 * `deno task bot` with no credentials: the console mode, driven through its standard input as a
 * person would type, then stopped by end of input and by SIGTERM (exit 0 both times).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openTestCatalog, spawnConsoleBot, writeFixtureAudio } from "./catalog_fixture.ts";

const decoder = new TextDecoder();

/** Starts the bot as its own process on the fixture's data directory. */
const spawnBot = (dataDir: string, catalogDir: string, how: "run" | "task" = "run") =>
  spawnConsoleBot(dataDir, { SOUNDALIKE_CATALOG_DIR: catalogDir }, how);

/** Processes still running bot/main.ts on this data directory. */
async function botsServing(dataDir: string): Promise<number[]> {
  const pids: number[] = [];
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const cmdline = await Deno.readTextFile(`/proc/${e.name}/cmdline`);
      const environ = await Deno.readTextFile(`/proc/${e.name}/environ`);
      if (cmdline.includes("bot/main.ts") && environ.includes(`SOUNDALIKE_DATA_DIR=${dataDir}\0`)) {
        pids.push(Number(e.name));
      }
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return pids;
}

Deno.test("console mode: /help, /similar, /more, /genres, bad input and /reindex typed on stdin", async () => {
  const catalog = await openTestCatalog({ tracks: 9 });
  // PGlite is one process at a time: the bot process opens the same data directory next.
  await catalog.app.close();
  try {
    const query = join(catalog.dataDir, "query.mp3");
    await writeFixtureAudio(query, 40);
    const bot = spawnBot(catalog.dataDir, catalog.catalogDir);
    const input = [
      "/help",
      `/similar "${query}" --k 3`,
      "/more 1",
      "/genres",
      "/similar /no/such/clip.mp3",
      `/similar ${join(catalog.catalogDir, "metadata.csv")}`,
      `/similar "${query}" --k 99`,
      "/more 9",
      "/dance",
      "/reindex",
    ].join("\n") + "\n";
    const writer = bot.stdin.getWriter();
    await writer.write(new TextEncoder().encode(input));
    await writer.close();
    const out = await bot.output();
    const stdout = decoder.decode(out.stdout);
    const stderr = decoder.decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.match(stderr, /Soundalike ready: 9 tracks, index v1, models on cpu/);
    assert.match(stderr, /console mode/);
    assert.match(stdout, /\/similar <file> \[--k 5\]/, "the help");
    // The card names only what the calibrated models are confident of (possibly nothing for this
    // synthetic clip): each part "<model> <label> <n> %".
    assert.match(
      stdout,
      /Tracks that sound like .*query\.mp3\n(Sounds like: (genre|mood|instrument) [^·\n]+ \d+ %( · (genre|mood|instrument) [^·\n]+ \d+ %)*\n)?\n 1\. /,
    );
    assert.match(stdout, / 1\. Fixture Song \d+ — Fixture Artist \d +\d+\.\d %\n/);
    assert.match(stdout, /More like “Fixture Song \d+” by Fixture Artist \d/);
    assert.match(stdout, /Genres in the catalog: Hip-Hop \(3\), Jazz \(3\), Rock \(3\)/);
    assert.match(stdout, /✗ The file does not exist: \/no\/such\/clip\.mp3/);
    assert.match(stdout, /✗ The file metadata\.csv could not be read as audio|✗ .*metadata\.csv.*audio/);
    assert.match(stdout, /✗ Ask for 1 to 10 tracks/);
    assert.match(stdout, /✗ Give a result number from 1 to \d/);
    assert.match(stdout, /✗ I don't know "\/dance"/);
    assert.match(stdout, /Reindexing .* \d+ %/);
    assert.match(stdout, /✓ Reindex done in .*: 9 tracks in index v2/);
    assert.match(stderr, /Stopped/);
  } finally {
    await catalog.close();
  }
});

Deno.test("`deno task bot` stops cleanly on SIGTERM: exit 0, the database closed, no bot left running", async () => {
  const catalog = await openTestCatalog({ tracks: 4 });
  await catalog.app.close();
  try {
    // Through the launcher, as a service manager stops it: the signal must reach the bot itself.
    const bot = spawnBot(catalog.dataDir, catalog.catalogDir, "task");
    const reader = bot.stderr.getReader();
    let stderr = "";
    while (!/console mode/.test(stderr)) {
      const { value, done } = await reader.read();
      if (done) break;
      stderr += decoder.decode(value);
    }
    bot.kill("SIGTERM");
    const status = await bot.status;
    // A bot left running would hold the pipe open: read what is there, but not forever.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, 15_000)));
    const drained = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        stderr += decoder.decode(value);
      }
    })();
    await Promise.race([drained, deadline]).finally(() => clearTimeout(timer));
    const leftover = await botsServing(catalog.dataDir);
    for (const pid of leftover) Deno.kill(pid, "SIGKILL");
    await drained;
    await bot.stdin.close().catch(() => {});
    await bot.stdout.cancel();
    assert.deepEqual(leftover, [], "the bot process ended with the launcher");
    assert.equal(status.code, 0, stderr);
    assert.match(stderr, /Shutting down[\s\S]*Stopped/);
  } finally {
    await catalog.close();
  }
});
