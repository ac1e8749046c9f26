import assert from "node:assert/strict";
import { perVersion } from "./per_version.ts";

Deno.test("perVersion() loads once per version, again when the version changes, never without one", async () => {
  let version: number | undefined = 1;
  let loads = 0;
  const get = perVersion(() => Promise.resolve(version), () => Promise.resolve(++loads));
  assert.equal(await get(), 1);
  assert.equal(await get(), 1);
  version = 2;
  assert.equal(await get(), 2);
  assert.equal(await get(), 2);
  version = undefined;
  assert.equal(await get(), 3);
  assert.equal(await get(), 4);
});

Deno.test("perVersion() does not keep a failed load", async () => {
  let fail = true;
  let loads = 0;
  const get = perVersion(() => Promise.resolve(7), () => {
    loads++;
    return fail ? Promise.reject(new Error("database down")) : Promise.resolve(["Rock"]);
  });
  await assert.rejects(get(), /database down/);
  fail = false;
  assert.deepEqual(await get(), ["Rock"]);
  assert.deepEqual(await get(), ["Rock"]);
  assert.equal(loads, 2);
});
