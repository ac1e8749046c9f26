/**
 * A local stand-in for Slack's Web API (`/api/<method>`, every call recorded) and its file
 * servers (`/files/<name>`, served only with the bot token, as `url_private` is), plus helpers
 * that sign requests to a Bolt receiver the way Slack does (`v0` HMAC-SHA256 over
 * `v0:<timestamp>:<body>`).
 *
 * @module
 */
import { createHmac } from "node:crypto";
import { waitForCall } from "./_wait.ts";

/** One Web API call the app made. */
export interface SlackCall {
  method: string;
  /** Form fields or JSON body; fields Slack sends as JSON text (blocks, view) are parsed. */
  body: Record<string, unknown>;
  /** The Authorization header. */
  auth: string | null;
  at: number;
}

/** The fake's handle. */
export interface SlackFake {
  /** `http://127.0.0.1:<port>/api/`: the app's `SLACK_API_URL`. */
  readonly apiUrl: string;
  /** `127.0.0.1:<port>`: the host to allow for file downloads. */
  readonly host: string;
  readonly calls: SlackCall[];
  /** Requests for files, with the Authorization header each carried. */
  readonly fileRequests: { path: string; auth: string | null }[];
  /** Serves `bytes` at `/files/<name>` and returns a Slack file object for it. */
  addFile(name: string, bytes: Uint8Array<ArrayBuffer>, mimetype: string): Record<string, unknown>;
  /** Files uploaded with `files.uploadV2`: name and text. */
  readonly uploads: { name: string; content: string }[];
  /** Marks a user as a workspace admin for `users.info`. */
  setAdmin(user: string): void;
  waitFor(match: (call: SlackCall) => boolean, timeoutMs?: number): Promise<SlackCall>;
  close(): Promise<void>;
}

const JSON_FIELDS = new Set(["blocks", "view", "attachments"]);

/**
 * Starts the fake on a random local port.
 *
 * @param botToken The token `url_private` downloads must carry.
 * @returns The fake's handle.
 */
export function startSlackFake(botToken: string): SlackFake {
  const calls: SlackCall[] = [];
  const fileRequests: { path: string; auth: string | null }[] = [];
  const files = new Map<string, { bytes: Uint8Array<ArrayBuffer>; mimetype: string }>();
  const admins = new Set<string>();
  const uploads: { name: string; content: string }[] = [];
  const pendingUploads = new Map<string, string>();
  let ts = 1_700_000_000;

  let origin = "";
  const server: Deno.HttpServer<Deno.NetAddr> = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, async (req): Promise<Response> => {
    const url = new URL(req.url);
    if (url.pathname.startsWith("/upload/")) {
      const name = pendingUploads.get(url.pathname.slice("/upload/".length)) ?? "?";
      uploads.push({ name, content: await req.text() });
      return new Response("OK - uploaded");
    }
    if (url.pathname.startsWith("/files/")) {
      const auth = req.headers.get("authorization");
      fileRequests.push({ path: url.pathname, auth });
      const file = files.get(decodeURIComponent(url.pathname.slice("/files/".length)));
      // Like Slack: without the token, a login page (200, HTML), not the file.
      if (auth !== `Bearer ${botToken}`) {
        return new Response("<!DOCTYPE html><html>Sign in to Slack</html>", {
          headers: { "content-type": "text/html" },
        });
      }
      if (!file) return new Response("not found", { status: 404 });
      return new Response(file.bytes, { headers: { "content-type": file.mimetype } });
    }
    const m = /^\/api\/([\w.]+)$/.exec(url.pathname);
    if (!m) return new Response("not found", { status: 404 });
    const method = m[1]!;
    const body = await readBody(req);
    calls.push({ method, body, auth: req.headers.get("authorization"), at: performance.now() });
    const channel = String(body.channel ?? "C1");
    switch (method) {
      case "auth.test":
        return Response.json({
          ok: true,
          user_id: "UBOT",
          bot_id: "BBOT",
          team_id: "T1",
          user: "soundalike",
        });
      case "chat.postMessage":
        return Response.json({ ok: true, channel, ts: `${++ts}.000100`, message: { text: body.text } });
      case "chat.update":
        return Response.json({ ok: true, channel, ts: body.ts });
      case "chat.postEphemeral":
        return Response.json({ ok: true, message_ts: `${++ts}.000200` });
      case "chat.delete":
        return Response.json({ ok: true, channel, ts: body.ts });
      case "views.open":
        return Response.json({ ok: true, view: { id: "V1" } });
      case "files.getUploadURLExternal": {
        const id = `F${++ts}`;
        pendingUploads.set(id, String(body.filename));
        return Response.json({ ok: true, upload_url: `${origin}/upload/${id}`, file_id: id });
      }
      case "files.completeUploadExternal":
        return Response.json({ ok: true, files: [] });
      case "users.info":
        return Response.json({
          ok: true,
          user: { id: body.user, is_admin: admins.has(String(body.user)), is_owner: false },
        });
      default:
        return Response.json({ ok: true });
    }
  });

  origin = `http://127.0.0.1:${server.addr.port}`;
  let fileId = 0;
  return {
    apiUrl: `${origin}/api/`,
    host: `127.0.0.1:${server.addr.port}`,
    calls,
    fileRequests,
    uploads,
    addFile(name, bytes, mimetype) {
      files.set(name, { bytes, mimetype });
      const url = `${origin}/files/${encodeURIComponent(name)}`;
      return {
        id: `F${++fileId}`,
        name,
        title: name,
        mimetype,
        filetype: name.split(".").pop(),
        size: bytes.length,
        url_private: url,
        url_private_download: url,
      };
    },
    setAdmin: (user) => void admins.add(user),
    waitFor: (match, timeoutMs) => waitForCall(calls, match, (c) => c.method, timeoutMs),
    close: () => server.shutdown(),
  };
}

async function readBody(req: Request): Promise<Record<string, unknown>> {
  const text = await req.text();
  const type = req.headers.get("content-type") ?? "";
  if (type.includes("application/json")) return JSON.parse(text || "{}");
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(text)) {
    out[k] = JSON_FIELDS.has(k) ? JSON.parse(v) : v;
  }
  return out;
}

/** What {@linkcode sendSigned} sends. */
export interface SignedRequestOptions {
  /** The app's signing secret. */
  secret: string;
  /** Seconds since the epoch written in the signature. @default now */
  timestamp?: number;
  /** Replace the computed signature (a forgery). */
  signature?: string;
  /** `X-Slack-Retry-Num`, for Events API retries. */
  retryNum?: number;
}

/**
 * Posts a signed request to a Bolt receiver: a JSON event, a slash command (form fields) or an
 * interaction (`payload=<json>`).
 *
 * @param url The receiver's `/slack/events` URL.
 * @param body A JSON event object, or form fields.
 * @param kind `json` for events, `form` for commands and interactions.
 * @param options Secret, timestamp, forged signature, retry number.
 * @returns The receiver's response status and text.
 */
export async function sendSigned(
  url: string,
  body: Record<string, unknown>,
  kind: "json" | "form",
  options: SignedRequestOptions,
): Promise<{ status: number; text: string }> {
  const raw = kind === "json" ? JSON.stringify(body) : new URLSearchParams(
    Object.entries(body).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
  )
    .toString();
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const signature = options.signature ??
    `v0=${createHmac("sha256", options.secret).update(`v0:${timestamp}:${raw}`).digest("hex")}`;
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": kind === "json" ? "application/json" : "application/x-www-form-urlencoded",
      "x-slack-request-timestamp": String(timestamp),
      "x-slack-signature": signature,
      ...(options.retryNum === undefined
        ? {}
        : { "x-slack-retry-num": String(options.retryNum), "x-slack-retry-reason": "http_timeout" }),
    },
    body: raw,
  });
  return { status: response.status, text: await response.text() };
}
