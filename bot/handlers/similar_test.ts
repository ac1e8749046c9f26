import assert from "node:assert/strict";
import { parseConfig } from "../../core/config.ts";
import { silentLogger } from "../../core/logger.ts";
import type { BotServices, ClipRef } from "../context.ts";
import { RateLimiter } from "../rate_limit.ts";
import { WorkQueue } from "../work_queue.ts";
import { checkSimilar, parseStart } from "./similar.ts";

/** Services whose app is never reached: checkSimilar decides from the request and the limits alone. */
function services(env: Record<string, string> = {}, queue = new WorkQueue({ concurrency: 1, capacity: 1 })) {
  return {
    app: {
      config: parseConfig({ SOUNDALIKE_MAX_UPLOAD_MB: "5", SOUNDALIKE_BOT_RATE_PER_MINUTE: "2", ...env }),
    },
    queue,
    limiter: new RateLimiter({ limit: 2, windowMs: 60_000 }),
    logger: silentLogger,
    signal: new AbortController().signal,
  } as unknown as BotServices;
}

const requester = { platform: "discord" as const, userId: "u1", name: "u1", isAdmin: false };
const clip = (over: Partial<ClipRef> = {}): ClipRef => ({
  name: "song.mp3",
  size: 1000,
  contentType: "audio/mpeg",
  location: {
    kind: "url",
    url: "https://cdn.discordapp.com/a/b/song.mp3",
    policy: { allowedHosts: ["cdn.discordapp.com"] },
  },
  ...over,
});

Deno.test("parseStart() reads m:ss, h:mm:ss and seconds, and refuses the rest", () => {
  assert.equal(parseStart("1:30"), 90);
  assert.equal(parseStart(" 0:05 "), 5);
  assert.equal(parseStart("1:02:03"), 3723);
  assert.equal(parseStart("42s"), 42);
  for (const bad of ["soon", "1:75", "-3", ":30"]) {
    assert.throws(() => parseStart(bad), /write it as m:ss/, bad);
  }
  // what the job queue would refuse as malformed gets its own sentence here
  assert.equal(parseStart("168:00:00"), 7 * 24 * 3600);
  assert.throws(() => parseStart("1000000"), /later than any clip/);
});

Deno.test("checkSimilar() refuses at once: no clip, not audio, too large, k out of range, a bad start", () => {
  const s = services();
  const refused = (request: Parameters<typeof checkSimilar>[1], text: RegExp) => {
    const answer = checkSimilar(s, request);
    assert.equal(answer.kind, "notice");
    assert.match((answer as { text: string }).text, text);
  };
  refused({ requester, clip: undefined }, /Attach an audio clip/);
  refused(
    { requester, clip: clip({ name: "cat.png", contentType: "image/png" }) },
    /cat\.png is image\/png, not audio/,
  );
  refused({ requester, clip: clip({ size: 6 * 1024 * 1024 }) }, /6\.0 MB, more than the 5\.0 MB limit/);
  refused({ requester, clip: clip(), k: 11 }, /Ask for 1 to 10 tracks/);
  refused({ requester, clip: clip(), k: 0 }, /Ask for 1 to 10 tracks/);
  refused({ requester, clip: clip(), start: "later" }, /can't read the start time/);
  refused(
    {
      requester,
      clip: clip({
        location: {
          kind: "url",
          url: "https://evil.example/x.mp3",
          policy: { allowedHosts: ["cdn.discordapp.com"] },
        },
      }),
    },
    /not evil\.example/,
  );
});

Deno.test("checkSimilar() accepts a good request, then applies the rate limit per user and the queue's room", async () => {
  const gate = Promise.withResolvers<void>();
  const queue = new WorkQueue({ concurrency: 1, capacity: 1 });
  const s = services({}, queue);
  const ok = checkSimilar(s, { requester, clip: clip(), k: 3, start: "0:10" });
  assert.equal(ok.kind, "checked");
  assert.deepEqual([(ok as { k: number }).k, (ok as { startSeconds: number }).startSeconds], [3, 10]);
  assert.equal(checkSimilar(s, { requester, clip: clip() }).kind, "checked");
  const limited = checkSimilar(s, { requester, clip: clip() });
  assert.equal((limited as { code: string }).code, "rate_limited");
  assert.match((limited as { text: string }).text, /try again in \d+ s/);
  const operator = { ...requester, platform: "console" as const };
  for (let n = 0; n < 5; n++) {
    assert.equal(
      checkSimilar(s, { requester: operator, clip: clip() }).kind,
      "checked",
      "no limit in the console",
    );
  }
  const other = { ...requester, userId: "u2" };
  const running = queue.run(() => gate.promise);
  const waiting = queue.run(() => Promise.resolve());
  assert.equal((checkSimilar(s, { requester: other, clip: clip() }) as { code: string }).code, "busy");
  gate.resolve();
  await Promise.all([running, waiting]);
});
