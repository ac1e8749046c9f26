/**
 * The console mode: the bot in a terminal, for trying it with no accounts. A person types
 * `/similar path/to/clip.mp3`, `/more 2`, `/reindex [dir]`, `/genres`, `/help` and reads the same
 * answers the chat platforms render, as text. Lines are read from any byte stream (stdin in
 * production, a pipe in tests); end of input finishes running work and returns.
 * @module
 */
import { basename, join, resolve } from "node:path";
import type { Answer, PartySummaryAnswer, SimilarAnswer } from "../answer.ts";
import type { BotServices, ClipRef, Requester } from "../context.ts";
import { runHelp } from "../handlers/help.ts";
import { runMoreLike } from "../handlers/more_like.ts";
import { type PartyRequest, partyShare, runParty } from "../handlers/party.ts";
import { checkSimilarRequest, runSimilar } from "../handlers/similar.ts";
import { errorNotice } from "../handlers/_errors.ts";
import { findLinks } from "../links.ts";
import { renderText } from "./render.ts";

/** The console's one channel, for parties. */
export const CONSOLE_CHANNEL = { platform: "console", channelId: "console" } as const;

/**
 * Writes a party summary's playlist files into `dir` (created if needed).
 *
 * @param dir Where the files go (`<data dir>/parties`).
 * @param summary The summary.
 * @returns The paths written.
 */
export async function writePartyFiles(dir: string, summary: PartySummaryAnswer): Promise<string[]> {
  await Deno.mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (const f of summary.files) {
    const path = join(dir, basename(f.name));
    await Deno.writeTextFile(path, f.content);
    paths.push(path);
  }
  return paths;
}

/** Options of {@linkcode runConsole}. */
export interface ConsoleOptions {
  /** Lines typed by the person. */
  input: ReadableStream<Uint8Array>;
  /** Where answers go (stdout). */
  write: (text: string) => void;
  /** Relative paths are resolved against this folder. */
  cwd: string;
  /** Show a prompt (an interactive terminal). @default false */
  prompt?: boolean;
  /** The console user's name. @default "console" */
  userName?: string;
  /** Where a party's playlist files are written. */
  partyDir?: string;
}

/**
 * The files a line shares during a party: the whole line when it names an existing file (an
 * unquoted path with spaces), else each word that is a file or looks like a path (a slash or an
 * audio-like extension; a missing one is then reported). Links and plain words are not paths.
 *
 * @param line The line as typed.
 * @param words Its words ({@linkcode splitWords}).
 * @param cwd Where relative paths start.
 * @returns Absolute paths, in order.
 */
async function sharedPaths(line: string, words: readonly string[], cwd: string): Promise<string[]> {
  const isFile = (path: string) => Deno.stat(path).then((s) => s.isFile, () => false);
  const whole = resolve(cwd, line.trim());
  if (/\s/.test(line.trim()) && !/^["']/.test(line.trim()) && await isFile(whole)) return [whole];
  const paths: string[] = [];
  for (const word of words) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(word) || word.startsWith("<")) continue; // a link, not a path
    const path = resolve(cwd, word);
    if (word.includes("/") || /\.[a-z0-9]{2,5}$/i.test(word) || await isFile(path)) paths.push(path);
  }
  return paths;
}

/**
 * Splits a command line into words, honouring quotes and backslash escapes.
 *
 * @param line What was typed.
 * @returns The words.
 * @example
 * ```ts
 * import { splitWords } from "./console.ts";
 * console.assert(splitWords(`/similar "my song.mp3" --k 3`).join("|") === "/similar|my song.mp3|--k|3");
 * ```
 */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let quote: string | undefined;
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === "\\" && i + 1 < line.length && quote !== "'") {
      word += line[++i];
      inWord = true;
    } else if (quote) {
      if (ch === quote) quote = undefined;
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/**
 * Runs the console until the input ends or `/quit`.
 *
 * @param services The bot's services.
 * @param options Input, output and the working folder.
 */
export async function runConsole(services: BotServices, options: ConsoleOptions): Promise<void> {
  const requester: Requester = {
    platform: "console",
    userId: "console",
    name: options.userName ?? "console",
    isAdmin: true,
  };
  const say = (answer: Answer) => options.write(renderText(answer) + "\n");
  let last: SimilarAnswer | undefined;
  const background: Promise<unknown>[] = [];
  const prompt = () => options.prompt && options.write("soundalike> ");

  const party: PartyRequest = { requester, channel: CONSOLE_CHANNEL, canHost: true };
  const sayParty = async (answer: Answer) => {
    say(answer);
    if (answer.kind === "party_summary" && options.partyDir) {
      for (const path of await writePartyFiles(options.partyDir, answer)) {
        options.write(`Playlist written: ${path}\n`);
      }
    }
  };

  const handle = async (line: string): Promise<boolean> => {
    const words = splitWords(line.trim());
    const [command, ...args] = words;
    if (command === undefined) return true;
    // A command is one word after a slash; anything else (an absolute path too) is something shared.
    if (!/^\/[a-z]+$/i.test(command)) {
      // During a party, a line is something shared: links, or a path to an audio file.
      const links = findLinks(line);
      const clips: ClipRef[] = (await sharedPaths(line, words, options.cwd)).map((path) => {
        return {
          name: basename(path),
          size: undefined,
          contentType: undefined,
          location: { kind: "path", path },
        };
      });
      if (!(await services.parties.active(CONSOLE_CHANNEL))) {
        options.write("✗ Commands start with /: type /help, or /party start to share songs freely\n");
        return true;
      }
      if (clips.length === 0 && links.length === 0) {
        // As in a chat channel, a line without audio is left alone; a hint says what would be heard.
        options.write("(nothing to share in that line: type a path to an audio file, or a link)\n");
        return true;
      }
      for (
        const answer of await partyShare(services, { requester, channel: CONSOLE_CHANNEL, clips, links })
      ) say(answer);
      return true;
    }
    switch (command) {
      case "/party": {
        const [sub = "", ...rest] = args;
        await sayParty(await runParty(services, party, sub, rest.join(" ")));
        return true;
      }
      case "/quit":
      case "/exit":
        return false;
      case "/help":
        say(await runHelp(services, "console"));
        return true;
      case "/genres": {
        const genres = await services.app.genres().catch(() => []);
        options.write(
          genres.length
            ? `Genres in the catalog: ${genres.map((g) => `${g.genre} (${g.tracks})`).join(", ")}\n`
            : "The catalog has no genres yet.\n",
        );
        return true;
      }
      case "/similar": {
        const parsed = parseSimilarArgs(args);
        if (typeof parsed === "string") {
          options.write(`✗ ${parsed}\n`);
          return true;
        }
        const path = parsed.file === undefined ? undefined : resolve(options.cwd, parsed.file);
        const checked = await checkSimilarRequest(services, {
          requester,
          clip: path === undefined ? undefined : {
            name: basename(path),
            size: undefined,
            contentType: undefined,
            location: { kind: "path", path },
          },
          k: parsed.k,
          genre: parsed.genre,
          start: parsed.start,
        });
        if (checked.kind !== "checked") return say(checked), true;
        const answer = await runSimilar(services, checked, say);
        if (answer.kind === "similar") last = answer;
        say(answer);
        return true;
      }
      case "/more": {
        const n = Number(args[0]);
        const track = last?.tracks.find((t) => t.rank === n);
        if (track === undefined) {
          options.write(
            last
              ? `✗ Give a result number from 1 to ${last.tracks.length}, e.g. /more 1\n`
              : "✗ Search with /similar first\n",
          );
          return true;
        }
        const answer = await runMoreLike(services, { requester, trackId: track.trackId });
        if (answer.kind === "similar") last = answer;
        say(answer);
        return true;
      }
      case "/reindex": {
        const dir = args[0] === undefined ? undefined : resolve(options.cwd, args[0]);
        const run = await services.reindex.start({ requester, dir }, say);
        say(run.answer);
        if (run.started) background.push(run.done.then(say));
        return true;
      }
      default:
        options.write(`✗ I don't know ${JSON.stringify(command)}: type /help for what I can do\n`);
        return true;
    }
  };

  prompt();
  for await (const line of lines(options.input)) {
    let goOn = true;
    try {
      goOn = await handle(line);
    } catch (err) {
      // A user error (the catalog unreachable, say) keeps its own sentence; a crash is logged.
      options.write(renderText(errorNotice(err, services.logger, { line })) + "\n");
    }
    if (!goOn) break;
    prompt();
  }
  await Promise.all(background);
}

interface SimilarArgs {
  file: string | undefined;
  k: number | undefined;
  genre: string | undefined;
  start: string | undefined;
}

function parseSimilarArgs(args: string[]): SimilarArgs | string {
  const out: SimilarArgs = { file: undefined, k: undefined, genre: undefined, start: undefined };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = () => args[++i];
    if (a === "--k") {
      const k = Number(value());
      if (!Number.isInteger(k)) return "--k needs a whole number, e.g. --k 5";
      out.k = k;
    } else if (a === "--genre") out.genre = value();
    else if (a === "--start") out.start = value();
    else if (a.startsWith("--")) return `Unknown option ${a}: use --k, --genre or --start`;
    else if (out.file === undefined) out.file = a;
    else return "Give one file (quote paths with spaces)";
  }
  return out;
}

async function* lines(input: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of input) {
    buffer += decoder.decode(chunk, { stream: true });
    let at: number;
    while ((at = buffer.indexOf("\n")) >= 0) {
      yield buffer.slice(0, at).replace(/\r$/, "");
      buffer = buffer.slice(at + 1);
    }
  }
  buffer += decoder.decode();
  if (buffer.trim()) yield buffer;
}
