/**
 * The running reindex's progress on the queue's Redis, shared by every chat process: a `/reindex`
 * reaching another shard says how far the running one is. One key with an owner and a time to live,
 * renewed while the run lasts, so a chat process that dies frees it by itself.
 * @module
 */
import type { ReindexProgressAnswer } from "../answer.ts";
import type { ReindexBoard } from "../handlers/reindex.ts";

/** The few Redis commands the board uses (an ioredis client has them). */
export interface BoardRedis {
  set(key: string, value: string, px: "PX", ms: number, nx: "NX"): Promise<string | null>;
  set(key: string, value: string, px: "PX", ms: number): Promise<string | null>;
  get(key: string): Promise<string | null>;
  del(key: string): Promise<number>;
}

/**
 * A board on Redis.
 *
 * @param redis The queue's connection.
 * @param prefix The deployment's key prefix.
 * @param ttlMs How long a claim lasts without renewal. @default 60000
 * @returns The {@linkcode ReindexBoard}.
 */
export function redisReindexBoard(redis: BoardRedis, prefix: string, ttlMs = 60_000): ReindexBoard {
  const key = `${prefix}:reindex:progress`;
  const owner = crypto.randomUUID();
  const value = (progress: ReindexProgressAnswer) => JSON.stringify({ owner, progress });
  const read = async () => {
    const raw = await redis.get(key);
    if (raw === null) return undefined;
    const held = JSON.parse(raw) as { owner: string; progress: ReindexProgressAnswer };
    // JSON has no undefined: an unknown ETA comes back absent.
    return {
      owner: held.owner,
      progress: { ...held.progress, etaSeconds: held.progress.etaSeconds ?? undefined },
    };
  };
  return {
    async claim(progress) {
      if ((await redis.set(key, value(progress), "PX", ttlMs, "NX")) === "OK") return undefined;
      const held = await read();
      return held?.owner === owner ? undefined : held?.progress;
    },
    async update(progress) {
      const held = await read();
      if (held === undefined || held.owner === owner) await redis.set(key, value(progress), "PX", ttlMs);
    },
    async release() {
      if ((await read())?.owner === owner) await redis.del(key);
    },
  };
}
