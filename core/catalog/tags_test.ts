import assert from "node:assert/strict";
import { parseGenres, tagInfo } from "./tags.ts";

Deno.test("tagInfo() maps ffmpeg's common tag names to catalog fields", () => {
  assert.deepEqual(
    tagInfo({
      title: "Food",
      artist: "AWOL",
      album: "AWOL - A Way Of Life",
      album_artist: "AWOL",
      genre: "Hip-Hop",
      date: "2008",
      track: "3",
      comment: "http://www.myspace.com/awayoflifemusic",
    }),
    {
      title: "Food",
      artist: "AWOL",
      album: "AWOL - A Way Of Life",
      albumArtist: "AWOL",
      genres: ["Hip-Hop"],
      year: 2008,
      trackNumber: 3,
    },
  );
});

Deno.test("tagInfo() reads other spellings, falls back to the album artist and ignores empty values", () => {
  assert.deepEqual(
    tagInfo({
      TITLE: "  ",
      ALBUMARTIST: "Various",
      TRACKNUMBER: "07/12",
      DATE: "2008-11-26T00:00:00",
      copyright: "CC BY-NC-ND 3.0",
    }),
    {
      albumArtist: "Various",
      artist: "Various",
      genres: [],
      year: 2008,
      trackNumber: 7,
      license: "CC BY-NC-ND 3.0",
    },
  );
  assert.deepEqual(tagInfo({ track: "0", date: "26/11/2008" }), { genres: [], year: 2008 });
  assert.deepEqual(tagInfo({ date: "unknown", track: "A1" }), { genres: [] });
});

Deno.test("parseGenres() splits lists and drops ID3v1 genre numbers", () => {
  assert.deepEqual(parseGenres("Hip-Hop; Rap;hip-hop"), ["Hip-Hop", "Rap"]);
  assert.deepEqual(parseGenres("(17)Rock"), ["Rock"]);
  assert.deepEqual(parseGenres("(17)"), []);
  assert.deepEqual(parseGenres("17"), []);
  assert.deepEqual(parseGenres("Drum & Bass\u0000Jungle"), ["Drum & Bass", "Jungle"]);
  assert.deepEqual(parseGenres(""), []);
});
