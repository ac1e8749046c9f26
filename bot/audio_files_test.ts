import assert from "node:assert/strict";
import { looksLikeAudio } from "./audio_files.ts";

Deno.test("looksLikeAudio() takes audio names and types, and generic binary types unless strict", () => {
  assert.ok(looksLikeAudio("a.FLAC", "image/png"), "the name decides first");
  assert.ok(looksLikeAudio("clip", "audio/ogg"));
  assert.ok(looksLikeAudio("clip", "video/mp4", true));
  assert.ok(looksLikeAudio("clip", "application/octet-stream"));
  assert.ok(!looksLikeAudio("clip", "application/octet-stream", true));
  assert.ok(!looksLikeAudio("notes.txt", "text/plain"));
  assert.ok(looksLikeAudio("clip", undefined));
  assert.ok(!looksLikeAudio("clip", undefined, true));
});
