import assert from "node:assert/strict";
import { isSoundalikeError } from "../../core/mod.ts";
import { tempDir } from "../datasets/_fake_audio.ts";
import { fetchTeacher } from "./fetch.ts";

Deno.test("fetchTeacher() refuses a snapshot without the pinned commit, naming it", async () => {
  await using dir = await tempDir("fetch_test_");
  const init = await new Deno.Command("git", { args: ["init", "-q", "--bare", `${dir.path}/repo.git`] })
    .output();
  assert.ok(init.success);
  await assert.rejects(
    () => fetchTeacher("msd", `${dir.path}/repo.git`, `${dir.path}/teacher`),
    (err) => isSoundalikeError(err) && /8665ff00494b/.test(err.message),
  );
});
