/**
 * Test helper: a PostgreSQL server of the test's own, in a temporary folder, on a port of its own
 * (`privatePort`), that the test can stop and start again (the shared server at 127.0.0.1:5432 must never
 * be stopped). Uses the server binaries (`initdb`, `pg_ctl`) of a local PostgreSQL installation,
 * as `.ci/run` installs it; a test skips with {@linkcode throwawayPostgresUnavailable}'s reason
 * where there are none. PostgreSQL refuses to run as root: as root, the cluster belongs to the
 * `postgres` user and its commands run through `runuser`.
 * @module
 */
import { join } from "node:path";
import { privatePort } from "./ports.ts";

/** A running (or stopped) throwaway server. */
export interface ThrowawayPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`, no password (trust authentication). */
  readonly url: string;
  /** `127.0.0.1:<port>`. */
  readonly host: string;
  /** Stops the server (fast shutdown: open connections are ended), waiting until it is down. */
  stop(): Promise<void>;
  /** Starts it again on the same port, waiting until it accepts connections. */
  start(): Promise<void>;
  /** Stops it if running and removes its folder. */
  destroy(): Promise<void>;
}

/** Where `initdb` and `pg_ctl` are, or why there are none. */
async function findBinaries(): Promise<{ bin: string } | { missing: string }> {
  const root = "/usr/lib/postgresql";
  const versions: number[] = [];
  try {
    for await (const e of Deno.readDir(root)) if (/^\d+$/.test(e.name)) versions.push(Number(e.name));
  } catch {
    // No Debian-style installation.
  }
  for (const v of versions.sort((a, b) => b - a)) {
    const bin = join(root, String(v), "bin");
    if (await isFile(join(bin, "initdb")) && await isFile(join(bin, "pg_ctl"))) return { bin };
  }
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").filter(Boolean)) {
    if (await isFile(join(dir, "initdb")) && await isFile(join(dir, "pg_ctl"))) return { bin: dir };
  }
  return {
    missing: "no PostgreSQL server binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin or on PATH",
  };
}

async function isFile(path: string): Promise<boolean> {
  return await Deno.stat(path).then((s) => s.isFile, () => false);
}

/** The `postgres` user's ids when running as root (PostgreSQL will not), else `undefined`. */
async function serverUser(): Promise<{ uid: number; gid: number } | undefined | string> {
  if (Deno.uid() !== 0) return undefined;
  const passwd = await Deno.readTextFile("/etc/passwd").catch(() => "");
  const line = passwd.split("\n").find((l) => l.startsWith("postgres:"));
  if (!line) return "running as root and there is no `postgres` user to run the server as";
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

const binaries = await findBinaries();
const user = await serverUser();

/** Why no throwaway server can be made here, or `null` when one can. */
export const throwawayPostgresUnavailable: string | null = "missing" in binaries
  ? binaries.missing
  : typeof user === "string"
  ? user
  : null;

/**
 * Creates and starts a throwaway cluster.
 *
 * @returns The running server; `destroy()` it when done.
 * @throws {Error} When {@linkcode throwawayPostgresUnavailable} is not `null`, or a command fails.
 */
export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  if (throwawayPostgresUnavailable !== null || "missing" in binaries || typeof user === "string") {
    throw new Error(`No throwaway PostgreSQL: ${throwawayPostgresUnavailable}`);
  }
  const { bin } = binaries;
  const root = await Deno.makeTempDir({ prefix: "soundalike_pg_" });
  const data = join(root, "data");
  if (user) await Deno.chown(root, user.uid, user.gid);
  const run = async (command: string, args: string[]) => {
    const argv = user ? ["runuser", ["-u", "postgres", "--", join(bin, command), ...args]] as const : [
      join(bin, command),
      args,
    ] as const;
    const out = await new Deno.Command(argv[0], { args: [...argv[1]], stdout: "piped", stderr: "piped" })
      .output();
    if (!out.success) {
      const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
      throw new Error(`${command} failed: ${text.trim().slice(-2000)}`);
    }
  };
  await run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  let port = privatePort();
  let running = false;
  const start = async () => {
    // The socket lives in the cluster's folder; fsync off: nothing here needs to survive a crash.
    const options = `-h 127.0.0.1 -p ${port} -k ${root} -c fsync=off -c full_page_writes=off`;
    await run("pg_ctl", [
      "-D",
      data,
      "-l",
      join(root, "server.log"),
      "-w",
      "-t",
      "60",
      "-o",
      options,
      "start",
    ]);
    running = true;
  };
  const stop = async () => {
    await run("pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", "60", "stop"]);
    running = false;
  };
  // Another test may have taken the port between privatePort() and the start: try another.
  for (let attempt = 1;; attempt++) {
    try {
      await start();
      break;
    } catch (err) {
      const log = await Deno.readTextFile(join(root, "server.log")).catch(() => "");
      if (attempt < 3 && /could not bind|already in use/i.test(`${err}\n${log}`)) {
        port = privatePort();
        continue;
      }
      await Deno.remove(root, { recursive: true }).catch(() => {});
      throw err;
    }
  }
  const host = `127.0.0.1:${port}`;
  return {
    url: `postgres://postgres@${host}/postgres`,
    host,
    start,
    stop,
    async destroy() {
      try {
        if (running) await stop();
      } finally {
        await Deno.remove(root, { recursive: true }).catch(() => {});
      }
    },
  };
}
