/**
 * The shared ending of the training CLIs: run `main`, exit with its code, and turn an error a
 * user can fix (a dataset or teacher problem, a mistyped flag) into one line on standard error instead of
 * a stack trace.
 * @module
 */
import { isSoundalikeError } from "../../core/mod.ts";

/**
 * Runs a CLI's `main` with the process arguments and exits.
 *
 * @param main Returns the exit code.
 */
export async function runMain(main: (args: string[]) => Promise<number>): Promise<never> {
  try {
    Deno.exit(await main(Deno.args));
  } catch (err) {
    if (isSoundalikeError(err)) {
      console.error(`Error: ${err.message}`);
      Deno.exit(1);
    }
    // node:util parseArgs: an unknown flag, a flag without its value, a value that looks like a flag
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_")) {
      console.error(`Error: ${(err as Error).message.split("\n").join(" ")} (--help lists the options)`);
      Deno.exit(2);
    }
    throw err;
  }
}
