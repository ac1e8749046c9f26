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
        assert.ok(media.path.endsWith("/song.mp3"), "named as shared, for messages about it");
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
      await refused(
        "/missing.mp3",
        "download_failed",
        /^The link could not be fetched \(Unable to download webpage: HTTP Error 404: Not Found\): check it/,
      );
      // The page's host is allowed, but the media it points at is on a private address that is not.
      await refused("/song.mp3", "download_refused", /media behind that link.*private network address/, {
        ...options(site.host),
        policy: { allowedHosts: [site.host] },
      });
      // A DASH manifest: yt-dlp's default would merge video and audio from URLs it never shows; the
      // one audio file asked for is on a private address.
      await refused(
        "/stream.mpd",
        "download_refused",
        /media behind that link.*10\.0\.0\.7.*private network/,
      );
    } finally {
      await site.close();
    }
  },
});

Deno.test({
  name: "withLinkAudio() checks every redirect of the media file and caps its size while it streams",
  ignore: !hasYtDlp,
  async fn() {
    const site = await startSite();
    try {
      const noUse = () => Promise.reject(new Error("nothing may reach the caller"));
      // The page is fine and names a file on its own host, which redirects to a private address.
      await assert.rejects(
        withLinkAudio(`${site.origin}/redirecting.html`, options(site.host), noUse),
        (e) =>
          isSoundalikeError(e, "download_refused") &&
          /media behind that link.*10\.0\.0\.7 leads to a private network address/.test(e.message),
      );
      // No Content-Length: the limit holds while the body streams.
      const song = (await (await fetch(`${site.origin}/song.mp3`)).arrayBuffer()).byteLength;
      await assert.rejects(
        withLinkAudio(`${site.origin}/chunked.mp3`, options(site.host, { maxBytes: song - 1 }), noUse),
        (e) => isSoundalikeError(e, "file_too_large"),
      );
      const size = await withLinkAudio(
        `${site.origin}/chunked.mp3`,
        options(site.host),
        async (m) => (await Deno.stat(m.path)).size,
      );
      assert.equal(size, song, "the same file, streamed, within the limit");
    } finally {
      await site.close();
    }
  },
});

Deno.test({
  name:
    "yt-dlp's own requests go through the checked proxy: pinned to the checked address, private ones refused",
  ignore: !hasYtDlp,
  async fn() {
    const site = await startSite();
    try {
      const port = new URL(site.origin).port;
      // `.test` names only this resolver knows: yt-dlp can reach them only through the proxy.
      const lookUps: string[] = [];
      const resolve = (host: string) => {
        lookUps.push(host);
        return Promise.resolve(["127.0.0.1"]);
      };
      const page = `media.rebind.test:${port}`;
      const info = await describeMedia(`http://${page}/song.mp3`, {
        ...options(page),
        policy: { allowedHosts: [page], privateHostsAllowed: [page], resolve },
      });
      assert.equal(info.title, "song");
      assert.ok(lookUps.includes("media.rebind.test"));
      // The same server under a name not allowed as private: the proxy refuses yt-dlp's request.
      const evil = `evil.rebind.test:${port}`;
      await assert.rejects(
        describeMedia(`http://${evil}/song.mp3`, {
          ...options(evil),
          policy: { allowedHosts: [evil], resolve },
        }),
        (e) =>
          isSoundalikeError(e, "download_refused") &&
          /^The media behind that link is not fetched: evil\.rebind\.test:\d+ leads to a private network address/
            .test(e.message),
      );
    } finally {
      await site.close();
    }
  },
});

Deno.test("a yt-dlp run ends at its time limit even when a process it started keeps its output open", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fake = `${dir}/yt-dlp`;
    await Deno.writeTextFile(fake, "#!/bin/sh\nsleep 20 &\nsleep 20\n");
    await Deno.chmod(fake, 0o755);
    const started = performance.now();
    await assert.rejects(
      describeMedia("https://example.org/slow", { ...options("example.org"), path: fake, timeoutMs: 300 }),
      (e) => isSoundalikeError(e, "download_failed") && /longer than 0 s/.test(e.message),
    );
    assert.ok(performance.now() - started < 10_000, "not held until the background process ends");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
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
    const opts: YtDlpOptions = {
      ...options("example.org"),
      path: fake,
      policy: { allowedHosts: ["example.org"], resolve: () => Promise.resolve(["93.184.216.34"]) },
    };
    await say({ title: "Radio", is_live: true, webpage_url: "https://example.org/live" });
    await assert.rejects(describeMedia("https://example.org/live", opts), /live stream/);
    await say({ title: "Huge", duration: 100, filesize: 900 * 1024 * 1024 });
    await assert.rejects(
      describeMedia("https://example.org/huge", opts),
      (e) => isSoundalikeError(e, "file_too_large"),
    );
    const file = { url: "https://cdn.example.org/ok.m4a", protocol: "https", ext: "m4a" };
    await say({ title: "Fine", duration: 100, extractor_key: "Example", ...file });
    assert.equal((await describeMedia("https://example.org/ok", opts)).extractor, "Example");
    await say({ title: "Pieces", duration: 100, ...file, protocol: "m3u8_native" });
    await assert.rejects(describeMedia("https://example.org/hls", opts), /in pieces/);
    await say({ title: "Merged", duration: 100, requested_formats: [file, file] });
    await assert.rejects(describeMedia("https://example.org/merge", opts), /in pieces/);
    await assert.rejects(
      describeMedia("https://example.org/ok", { ...opts, path: `${dir}/no-such-yt-dlp` }),
      (e) => isSoundalikeError(e, "missing_tool"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
