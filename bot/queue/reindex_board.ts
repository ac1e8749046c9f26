/**
 * The running reindex's progress on the queue's Redis, shared by every chat process: a `/reindex`
 * reaching another shard says how far the running one is. One key with an owner and a time to live,
 * renewed while the run lasts, so a chat process that dies frees it by itself. Renewal and release
 * compare the owner and write in one Lua script: a claim that expired and was taken by another process
 * between a read and a write is never overwritten or deleted.
 * @module
 */
import type { ReindexProgressAnswer } from "../answer.ts";
import type { ReindexBoard } from "../handlers/reindex.ts";

/** The few Redis commands the board uses (an ioredis client has them). */
export interface BoardRedis {
  set(key: string, value: string, px: "PX", ms: number, nx: "NX"): Promise<string | null>;
  get(key: string): Promise<string | null>;
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

/** KEYS[1] is free or held by ARGV[1]: set it to ARGV[2] for ARGV[3] ms. */
const RENEW_IF_MINE = `local raw = redis.call('GET', KEYS[1])
if raw == false or cjson.decode(raw).owner == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`;

/** KEYS[1] is held by ARGV[1]: delete it. */
const DELETE_IF_MINE = `local raw = redis.call('GET', KEYS[1])
if raw ~= false and cjson.decode(raw).owner == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

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
      await redis.eval(RENEW_IF_MINE, 1, key, owner, value(progress), ttlMs);
    },
    async release() {
      await redis.eval(DELETE_IF_MINE, 1, key, owner);
    },
  };
}
