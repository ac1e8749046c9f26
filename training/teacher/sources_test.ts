import assert from "node:assert/strict";
import { join } from "node:path";
import { tempDir } from "../datasets/_fake_audio.ts";
import { folderItems, listAudioFiles } from "./sources.ts";

Deno.test("listAudioFiles() finds audio in nested folders, sorted; folderItems() names them by relative path", async () => {
  await using dir = await tempDir("sources_test_");
  await Deno.mkdir(join(dir.path, "a", "b"), { recursive: true });
  for (const f of ["a/b/z.MP3", "a/x.ogg", "notes.txt", "y.wav"]) {
    await Deno.writeTextFile(join(dir.path, f), "");
  }
  const files = await listAudioFiles(dir.path);
  assert.deepEqual(files, ["a/b/z.MP3", "a/x.ogg", "y.wav"].map((f) => join(dir.path, f)));
  const items = await folderItems(dir.path);
  assert.deepEqual(items.map((it) => it.trackId), ["shared:a/b/z.MP3", "shared:a/x.ogg", "shared:y.wav"]);
  assert.ok(items.every((it) => it.group === it.trackId && it.label === "unlabelled"));
});
