/**
 * `deno task fetch-teacher`: the MusiCNN teachers' files from snapshots of their public repositories,
 * hash-checked, into the teacher folder (training time only; never shipped).
 *
 * ```
 * deno task fetch-teacher [--msd <snapshot of NeptuneHub/AudioMuse-AI>]
 *   [--mtt <snapshot of gilpanal/b8b_synapse>] [--out .cache/teacher]
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { fetchTeacher } from "../teacher/fetch.ts";
import { TEACHER_FILES } from "../teacher/teacher.ts";
import { runMain } from "./_main.ts";

const USAGE = `Usage: deno task fetch-teacher [--msd <snapshot of ${TEACHER_FILES.msd[0]!.source.repository}>]
  [--mtt <snapshot of ${TEACHER_FILES.mtt[0]!.source.repository}>] [--out .cache/teacher]`;

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      msd: { type: "string" },
      mtt: { type: "string" },
      out: { type: "string", default: ".cache/teacher" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help || (values.msd === undefined && values.mtt === undefined)) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  for (const id of ["msd", "mtt"] as const) {
    const from = values[id];
    if (from === undefined) continue;
    const files = await fetchTeacher(id, from, values.out);
    const src = TEACHER_FILES[id][0]!.source;
    console.log(
      `${id}: ${files.length} files from ${src.repository}@${src.commit.slice(0, 12)} (${src.licence})`,
    );
  }
  return 0;
}

if (import.meta.main) await runMain(main);
