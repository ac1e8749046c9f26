import assert from "node:assert/strict";
import { parseConfig } from "./config.ts";
import { isSoundalikeError } from "./errors.ts";

Deno.test("parseConfig() gives documented defaults for an empty environment", () => {
  const config = parseConfig({});
  assert.equal(config.databaseUrl, undefined);
  assert.equal(config.dataDir, "data");
  assert.equal(config.ortProvider, "auto");
  assert.equal(config.ortThreads, 2);
  assert.equal(config.maxUploadBytes, 50 * 1024 * 1024);
  assert.equal(config.indexKind, "flat");
  assert.equal(config.metric, "l2");
});

Deno.test("parseConfig() treats empty strings as unset and coerces numbers", () => {
  const config = parseConfig({ DATABASE_URL: "", ORT_THREADS: " 4 ", SOUNDALIKE_MAX_UPLOAD_MB: "1.5" });
  assert.equal(config.databaseUrl, undefined);
  assert.equal(config.ortThreads, 4);
  assert.equal(config.maxUploadBytes, Math.round(1.5 * 1024 * 1024));
});

Deno.test("parseConfig() reports every invalid variable in one message", () => {
  assert.throws(
    () => parseConfig({ ORT_PROVIDER: "tpu", ORT_THREADS: "zero", DATABASE_URL: "mysql://x" }),
    (err: unknown) => {
      assert.ok(isSoundalikeError(err, "bad_config"));
      for (const key of ["ORT_PROVIDER", "ORT_THREADS", "DATABASE_URL"]) {
        assert.match(err.message, new RegExp(key));
      }
      return true;
    },
  );
});

Deno.test("parseConfig() takes the program's default log level and INIT_CWD for relative paths", () => {
  assert.equal(parseConfig({}, { defaultLogLevel: "warn" }).logLevel, "warn");
  assert.equal(parseConfig({ LOG_LEVEL: "debug" }, { defaultLogLevel: "warn" }).logLevel, "debug");
  assert.equal(parseConfig({ INIT_CWD: "/home/me/music" }).cwd, "/home/me/music");
  assert.equal(parseConfig({}, { cwd: "/srv" }).cwd, "/srv");
});

Deno.test("parseConfig() leaves the chat platforms off without credentials and reads the bot limits", () => {
  const config = parseConfig({ SOUNDALIKE_BOT_QUEUE: "3", SOUNDALIKE_BOT_RATE_PER_MINUTE: "2" });
  assert.equal(config.discord, undefined);
  assert.equal(config.slack, undefined);
  assert.equal(config.bot.queueSize, 3);
  assert.equal(config.bot.perUserPerMinute, 2);
  assert.equal(config.bot.maxResults, 10);
});

Deno.test("parseConfig() reads Discord and Slack settings, with hosts normalised", () => {
  const config = parseConfig({
    DISCORD_TOKEN: "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123",
    DISCORD_API_URL: "http://127.0.0.1:9999/api/",
    DISCORD_CDN_HOSTS: "127.0.0.1:9998, CDN.example.org",
    SLACK_BOT_TOKEN: "xoxb-1-2-3",
    SLACK_SIGNING_SECRET: "s3cret",
    SLACK_ADMIN_USER_IDS: "U1, U2",
    SLACK_API_URL: "http://127.0.0.1:9997/api",
  });
  assert.equal(config.discord?.apiUrl, "http://127.0.0.1:9999/api");
  assert.deepEqual(config.discord?.cdnHosts, ["127.0.0.1:9998", "cdn.example.org"]);
  assert.equal(config.slack?.apiUrl, "http://127.0.0.1:9997/api/");
  assert.deepEqual(config.slack?.adminUserIds, ["U1", "U2"]);
  assert.equal(config.slack?.appToken, undefined);
});

Deno.test("parseConfig() names incomplete Slack credentials and never echoes a secret", () => {
  assert.throws(
    () => parseConfig({ SLACK_SIGNING_SECRET: "topsecretvalue", DISCORD_TOKEN: "not-a-token-really" }),
    (err: unknown) => {
      assert.ok(isSoundalikeError(err, "bad_config"));
      assert.match(err.message, /SLACK_BOT_TOKEN/);
      assert.match(err.message, /DISCORD_TOKEN/);
      assert.doesNotMatch(err.message, /topsecretvalue|not-a-token-really/);
      return true;
    },
  );
  assert.throws(() => parseConfig({ SLACK_BOT_TOKEN: "xoxb-1" }), /SLACK_SIGNING_SECRET/);
  assert.equal(
    parseConfig({ SLACK_BOT_TOKEN: "xoxb-1", SLACK_APP_TOKEN: "xapp-1" }).slack?.appToken,
    "xapp-1",
  );
});

Deno.test("parseConfig() reads the party settings: link hosts with wildcards, private hosts only when named", () => {
  const defaults = parseConfig({}).party;
  assert.ok(defaults.linkHosts.includes("*.bandcamp.com"));
  assert.deepEqual(defaults.linkPrivateHosts, []);
  assert.equal(defaults.linkMaxSeconds, 15 * 60);
  const custom = parseConfig({
    SOUNDALIKE_LINK_HOSTS: "127.0.0.1:8080, *.example.org",
    SOUNDALIKE_LINK_PRIVATE_HOSTS: "127.0.0.1:8080",
    DISCORD_PARTY_HOSTS: "everyone",
  }).party;
  assert.deepEqual(custom.linkHosts, ["127.0.0.1:8080", "*.example.org"]);
  assert.deepEqual(custom.linkPrivateHosts, ["127.0.0.1:8080"]);
  assert.equal(custom.discordHosts, "everyone");
  assert.throws(
    () => parseConfig({ SOUNDALIKE_LINK_HOSTS: "http://x.org/", SLACK_PARTY_HOSTS: "all" }),
    /SOUNDALIKE_LINK_HOSTS.*SLACK_PARTY_HOSTS|SLACK_PARTY_HOSTS.*SOUNDALIKE_LINK_HOSTS/,
  );
});

Deno.test("parseConfig(): no queue, no shards, no ops port and text logs by default (one process, as before)", () => {
  const config = parseConfig({
    DISCORD_TOKEN: "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123",
  });
  assert.equal(config.scale.queue, undefined);
  assert.equal(config.scale.opsPort, undefined);
  assert.equal(config.scale.logFormat, "text");
  assert.equal(config.discord?.shards, undefined);
});

Deno.test("parseConfig(): the queue, shards, ops port and JSON logs of a deployment over several processes", () => {
  const config = parseConfig({
    DATABASE_URL: "postgres://db/soundalike",
    SOUNDALIKE_QUEUE_URL: "redis://queue:6379/0",
    SOUNDALIKE_WORKER_CONCURRENCY: "4",
    SOUNDALIKE_JOB_LOCK_S: "10",
    SOUNDALIKE_OPS_PORT: "9464",
    LOG_FORMAT: "json",
    DISCORD_TOKEN: "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123",
    DISCORD_SHARDS: "8",
    DISCORD_SHARD_IDS: "0, 2, 4-5",
  });
  assert.deepEqual(config.scale.queue, {
    url: "redis://queue:6379/0",
    prefix: "soundalike",
    workerConcurrency: 4,
    attempts: 3,
    lockSeconds: 10,
    jobTimeoutSeconds: 120,
  });
  assert.equal(config.scale.opsPort, 9464);
  assert.equal(config.scale.logFormat, "json");
  assert.deepEqual(config.discord?.shards, { count: 8, ids: [0, 2, 4, 5] });
  assert.deepEqual(
    parseConfig({
      DISCORD_TOKEN: "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123",
      DISCORD_SHARDS: "auto",
    })
      .discord?.shards,
    { count: "auto", ids: undefined },
  );
});

Deno.test("parseConfig(): everything wrong with the several-process variables in one message", () => {
  assert.throws(
    () =>
      parseConfig({
        SOUNDALIKE_QUEUE_URL: "amqp://rabbit",
        SOUNDALIKE_JOB_ATTEMPTS: "0",
        LOG_FORMAT: "xml",
        DISCORD_SHARDS: "some",
      }),
    (err: unknown) => {
      assert.ok(isSoundalikeError(err, "bad_config"));
      for (
        const key of ["SOUNDALIKE_QUEUE_URL", "SOUNDALIKE_JOB_ATTEMPTS", "LOG_FORMAT", "DISCORD_SHARDS"]
      ) {
        assert.match(err.message, new RegExp(key));
      }
      return true;
    },
  );
  assert.throws(
    () => parseConfig({ SOUNDALIKE_QUEUE_URL: "redis://queue:6379" }),
    /SOUNDALIKE_QUEUE_URL="redis:\/\/queue:6379": needs DATABASE_URL/,
  );
  assert.throws(
    () => parseConfig({ DISCORD_SHARDS: "2", DISCORD_SHARD_IDS: "1,2" }),
    /must be below DISCORD_SHARDS \(2\)/,
  );
  assert.throws(
    () => parseConfig({ DISCORD_SHARDS: "auto", DISCORD_SHARD_IDS: "1" }),
    /needs DISCORD_SHARDS set/,
  );
});
