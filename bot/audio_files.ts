/**
 * Whether a shared file looks like audio, from what the platform says before anything is
 * downloaded (its MIME type and name). Decoding decides for sure; this only keeps obvious
 * non-audio (images, documents) from being fetched at all.
 * @module
 */

/** MIME types that can carry audio (video files have a sound track too). */
const AUDIO_TYPE = /^(audio\/|video\/|application\/(ogg|octet-stream|x-matroska|mp4))/i;
/** File name endings of audio and video formats ffmpeg reads. */
const AUDIO_NAME = /\.(mp3|ogg|oga|opus|wav|flac|m4a|aac|wma|aif|aiff|webm|mp4|mkv|mov|weba)$/i;

/**
 * Whether a file of this type and name is worth trying as audio.
 *
 * @param name The file's name.
 * @param type Its MIME type, when the platform gives one.
 * @param strict Only `audio/*` and `video/*` types count (to pick a message's audio among its
 *   attachments); otherwise generic binary types pass too.
 * @returns `true` for audio-like files.
 * @example
 * ```ts
 * import { looksLikeAudio } from "./audio_files.ts";
 * console.assert(looksLikeAudio("song.mp3", undefined) && !looksLikeAudio("cat.png", "image/png"));
 * ```
 */
export function looksLikeAudio(name: string, type: string | undefined, strict = false): boolean {
  if (AUDIO_NAME.test(name)) return true;
  if (type === undefined) return !strict;
  return strict ? /^(audio|video)\//i.test(type) : AUDIO_TYPE.test(type);
}
