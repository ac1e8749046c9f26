/**
 * A listening party in the console mode, driven through stdin: start, a file path and a link typed
 * one a line, next, stop — and the playlist files it says it wrote exist.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openTestCatalog, spawnConsoleBot, writeFixtureAudio } from "./catalog_fixture.ts";
import { startMediaSite } from "./fakes/media_site.ts";

Deno.test("console party: /party start, a path and a link, /party next, /party stop with playlist files", async () => {
  const catalog = await openTestCatalog({ tracks: 18 });
  await catalog.app.close();
  const linked = join(catalog.dataDir, "linked.mp3");
  await writeFixtureAudio(linked, 33);
  const site = await startMediaSite(linked);
  try {
    const clip = join(catalog.dataDir, "mine.wav");
    await writeFixtureAudio(clip, 21);
    const spaced = join(catalog.dataDir, "my song.wav");
    await writeFixtureAudio(spaced, 27);
    const bot = spawnConsoleBot(catalog.dataDir, {
      SOUNDALIKE_LINK_HOSTS: site.host,
      SOUNDALIKE_LINK_PRIVATE_HOSTS: site.host,
    });
    const writer = bot.stdin.getWriter();
    await writer.write(new TextEncoder().encode(
      [
        "/party start Den",
        `"${clip}"`,
        `${site.origin}/song.mp3`,
        "file:///etc/passwd",
        "just some chat text",
        spaced, // unquoted, with a space
        "/party status",
        "/party next",
        "/party stop",
        "",
      ].join("\n"),
    ));
    await writer.close();
    const out = await bot.output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.match(stdout, /“Den” is on/);
    assert.match(stdout, /Party picks like mine\.wav/);
    assert.match(stdout, /Party picks like song/);
    assert.match(stdout, /✗ Only http\(s\) links are fetched, not file: links/);
    assert.match(stdout, /Next for “Den”: Fixture Song \d+/);
    assert.match(stdout, /nothing to share in that line/);
    assert.doesNotMatch(stdout, /does not exist/, "plain words are not taken for files");
    assert.match(stdout, /Party picks like my song\.wav/);
    assert.match(stdout, /So far it sounds like: genre \S.* \d+ %/);
    assert.match(stdout, /“Den” is over: \d+ min, 3 shared, 15 suggested, 1 picked/);
    const written = [...stdout.matchAll(/Playlist written: (.+)/g)].map((m) => m[1]!);
    assert.deepEqual(written.map((p) => p.split(".").pop()), ["m3u", "csv"]);
    for (const path of written) {
      assert.ok(path.startsWith(join(catalog.dataDir, "parties")));
      assert.match(await Deno.readTextFile(path), /example\.org\/tracks\/track_\d+\.wav/);
    }
  } finally {
    await site.close();
    await catalog.close();
  }
});
