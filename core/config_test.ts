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
