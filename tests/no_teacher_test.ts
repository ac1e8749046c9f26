/**
 * The MusiCNN teachers are a training-time tool: `similar` and the bot must run without them. Their
 * module graphs (what `deno info` resolves from the entry points) hold nothing from `training/`, and no
 * file they load names the teacher folder or its model files.
 */
import assert from "node:assert/strict";
import { fileURLToPath as fromFileUrl } from "node:url";

const ROOT = fromFileUrl(new URL("..", import.meta.url));

async function localModules(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: { specifier: string }[] };
  return info.modules.map((m) => m.specifier).filter((s) => s.startsWith("file://")).map((s) =>
    fromFileUrl(s)
  );
}

for (const entry of ["core/cli/similar.ts", "bot/main.ts"]) {
  Deno.test(`${entry} runs with no teacher present: nothing from training/ in its module graph`, async () => {
    const modules = await localModules(entry);
    assert.ok(modules.length > 10, `deno info listed ${modules.length} modules`);
    const training = modules.filter((m) => m.startsWith(`${ROOT}training/`));
    assert.deepEqual(training, []);
    for (const m of modules) {
      const text = await Deno.readTextFile(m);
      assert.ok(!/musicnn|\.cache\/teacher/i.test(text), `${m} mentions the teacher`);
    }
  });
}
