/**
 * A local media site for yt-dlp's generic extractor (no internet): a song, an hour-long video page
 * (JSON-LD duration), a playlist page (two audio elements), a page without media, a web page where
 * audio was expected, a page whose title tries to mention everyone, redirects to a private address and to another site, a page whose audio file
 * redirects to a private address, a song sent without a Content-Length, and a DASH manifest.
 *
 * @module
 */
import { ffmpeg } from "../audio_fixtures.ts";

/** The site's handle. */
export interface MediaSite {
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** `127.0.0.1:<port>`, for the link allowlists. */
  readonly host: string;
  close(): Promise<void>;
}

/**
 * Starts the site; `song.mp3` is `audio` when given (a file to serve), else a 4 s tone.
 *
 * @param audio A local audio file served as `/song.mp3`.
 * @returns Its handle.
 */
export async function startMediaSite(audio?: string): Promise<MediaSite> {
  const dir = await Deno.makeTempDir({ prefix: "soundalike_site_" });
  if (audio === undefined) await ffmpeg(["-f", "lavfi", "-i", "sine=f=440:d=4", `${dir}/song.mp3`]);
  const song = await Deno.readFile(audio ?? `${dir}/song.mp3`);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    const html = (body: string) => new Response(body, { headers: { "content-type": "text/html" } });
    switch (url.pathname) {
      case "/song.mp3":
      case "/other.mp3":
        return new Response(song, { headers: { "content-type": "audio/mpeg" } });
      case "/long.html":
        return html(
          `<html><head><title>Long</title><script type="application/ld+json">{"@context":"https://schema.org",` +
            `"@type":"VideoObject","name":"Long","contentUrl":"${url.origin}/song.mp3","duration":"PT1H2M",` +
            `"uploadDate":"2020-01-01","thumbnailUrl":"${url.origin}/t.jpg","description":"x"}</script></head></html>`,
        );
      case "/list.html":
        return html(
          `<html><head><title>Two</title></head><body><audio src="song.mp3"></audio><audio src="other.mp3"></audio></body></html>`,
        );
      case "/hostile.html":
        // A title written to ping a whole server and a role wherever the bot may mention.
        return html(
          `<html><head><title>@everyone &lt;@&amp;123&gt; drop</title></head><body><audio src="song.mp3"></audio></body></html>`,
        );
      case "/nothing.html":
        return html("<html><head><title>Nothing</title></head><body>No media here</body></html>");
      case "/to-private":
      case "/to-private-audio.mp3":
        return Response.redirect("http://10.0.0.7/song.mp3", 302);
      case "/redirecting.html":
        return html(
          `<html><head><title>Sly</title></head><body><audio src="to-private-audio.mp3"></audio></body></html>`,
        );
      case "/chunked.mp3":
        // A body streamed in pieces, so no Content-Length tells its size in advance.
        return new Response(
          new ReadableStream({
            start(c) {
              for (let i = 0; i < song.length; i += 4096) c.enqueue(song.slice(i, i + 4096));
              c.close();
            },
          }),
          { headers: { "content-type": "audio/mpeg" } },
        );
      case "/stream.mpd":
        return new Response(
          `<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" ` +
            `mediaPresentationDuration="PT4S" minBufferTime="PT1S" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011">` +
            `<Period><AdaptationSet mimeType="audio/mp4" codecs="mp4a.40.2"><Representation id="a1" bandwidth="64000">` +
            `<BaseURL>http://10.0.0.7/audio.m4a</BaseURL></Representation></AdaptationSet>` +
            `<AdaptationSet mimeType="video/mp4" codecs="avc1.4d401e"><Representation id="v1" bandwidth="500000" width="640" height="360">` +
            `<BaseURL>http://10.0.0.7/video.mp4</BaseURL></Representation></AdaptationSet></Period></MPD>`,
          { headers: { "content-type": "application/dash+xml" } },
        );
      case "/to-elsewhere":
        return Response.redirect("https://unlisted.example/song.mp3", 302);
      default:
        return new Response("not found", { status: 404 });
    }
  });
  const host = `127.0.0.1:${server.addr.port}`;
  return {
    origin: `http://${host}`,
    host,
    async close() {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
