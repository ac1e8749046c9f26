import assert from "node:assert/strict";
import { isSoundalikeError } from "../core/errors.ts";
import { startMediaSite as startSite } from "../tests/fakes/media_site.ts";
import { describeMedia, withLinkAudio, type YtDlpOptions } from "./ytdlp.ts";

const hasYtDlp = await new Deno.Command("yt-dlp", { args: ["--version"], stdout: "null", stderr: "null" })
  .output().then((o) => o.success).catch(() => false);

const options = (host: string, extra: Partial<YtDlpOptions> = {}): YtDlpOptions => ({
  maxSeconds: 20 * 60,
  maxBytes: 10 * 1024 * 1024,
  timeoutMs: 60_000,
  policy: { allowedHosts: [host], privateHostsAllowed: [host] },
  ...extra,
});

Deno.test({
  name: "withLinkAudio() downloads a link's audio into a temporary folder that is removed afterwards",
  ignore: !hasYtDlp,
  async fn() {
    const site = await startSite();
    try {
      let seen = "";
      const bytes = await withLinkAudio(`${site.origin}/song.mp3`, options(site.host), async (media) => {
        seen = media.path;
        assert.equal(media.title, "song");
        return (await Deno.stat(media.path)).size;
      });
      assert.ok(bytes > 1000);
      await assert.rejects(Deno.stat(seen), Deno.errors.NotFound, "the temporary folder is gone");
    } finally {
      await site.close();
    }
  },
});

Deno.test({
  name: "describeMedia() refuses playlists, long media, pages without media, and media on private hosts",
  ignore: !hasYtDlp,
  async fn() {
    const site = await startSite();
    try {
      const refused = async (path: string, code: string, message: RegExp, opts = options(site.host)) =>
        await assert.rejects(
          describeMedia(`${site.origin}${path}`, opts),
          (e) => isSoundalikeError(e) && e.code === code && message.test(e.message),
          path,
        );
      await refused("/list.html", "download_refused", /is a playlist/);
      await refused("/long.html", "download_refused", /62 min long, more than 20 min/);
      await refused("/nothing.html", "download_refused", /not supported/);
      await refused("/missing.mp3", "download_failed", /could not be fetched/);
      // The page's host is allowed, but the media it points at is on a private address that is not.
      await refused("/song.mp3", "download_refused", /media behind that link.*private network address/, {
        ...options(site.host),
        policy: { allowedHosts: [site.host] },
      });
    } finally {
      await site.close();
    }
  },
});

Deno.test("describeMedia() refuses live streams and oversized media as yt-dlp describes them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A stand-in for yt-dlp that prints a description: the real one cannot reach a live stream here.
    const fake = `${dir}/yt-dlp`;
    const say = async (info: unknown) => {
      await Deno.writeTextFile(fake, `#!/bin/sh\ncat <<'EOF'\n${JSON.stringify(info)}\nEOF\n`);
      await Deno.chmod(fake, 0o755);
    };
    const opts: YtDlpOptions = { ...options("example.org"), path: fake };
    await say({ title: "Radio", is_live: true, webpage_url: "https://example.org/live" });
    await assert.rejects(describeMedia("https://example.org/live", opts), /live stream/);
    await say({ title: "Huge", duration: 100, filesize: 900 * 1024 * 1024 });
    await assert.rejects(
      describeMedia("https://example.org/huge", opts),
      (e) => isSoundalikeError(e, "file_too_large"),
    );
    await say({ title: "Fine", duration: 100, extractor_key: "Example" });
    assert.equal((await describeMedia("https://example.org/ok", opts)).extractor, "Example");
    await assert.rejects(
      describeMedia("https://example.org/ok", { ...opts, path: `${dir}/no-such-yt-dlp` }),
      (e) => isSoundalikeError(e, "missing_tool"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
