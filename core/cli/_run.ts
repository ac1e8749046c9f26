/**
 * The shared shell of every CLI: configuration read once, a logger, and errors turned into one
 * clear sentence on standard error with a non-zero exit code.
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { type Config, loadConfig } from "../config.ts";
import { CatalogUnreachableError } from "../db/health.ts";
import { isSoundalikeError } from "../errors.ts";
import { createConsoleLogger, type Logger } from "../logger.ts";

/** A wrong command line: the message is shown with the usage. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Exit codes shared by the CLIs. `Unavailable` (75, sysexits' EX_TEMPFAIL) means the catalog's
 * database did not answer: nothing to fix in the command, try it again later.
 */
export const ExitCode = { Ok: 0, Failed: 1, Usage: 2, Unavailable: 75 } as const;

/**
 * Parses `Deno.args` strictly (unknown flags are errors).
 *
 * @param options `node:util` parseArgs options.
 * @param args The arguments.
 * @returns The parsed values and positionals.
 */
export function parseCliArgs<T extends ParseArgsConfig["options"]>(options: T, args: string[] = Deno.args) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

/**
 * Runs a CLI's main function and exits: 0 on success, 1 for failures (a friendly sentence for
 * errors users can fix, the logged error otherwise), 2 for a wrong command line, 75 when the
 * catalog's database does not answer (one sentence naming its host and the error code).
 *
 * @param usage Shown with `--help` and after a usage error.
 * @param main The command; receives the validated config and a logger.
 */
export async function runCli(
  usage: string,
  main: (ctx: { config: Config; logger: Logger }) => Promise<number | void>,
): Promise<never> {
  if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
    console.log(usage.trim());
    Deno.exit(ExitCode.Ok);
  }
  let logger: Logger = createConsoleLogger("warn");
  try {
    // Standard error is for the one sentence a failure needs: log warnings only unless asked.
    const config = loadConfig({ defaultLogLevel: "warn" });
    logger = createConsoleLogger(config.logLevel);
    const code = await main({ config, logger });
    Deno.exit(code ?? ExitCode.Ok);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`${err.message}\n\n${usage.trim()}`);
      Deno.exit(ExitCode.Usage);
    }
    if (err instanceof CatalogUnreachableError) {
      logger.debug("Catalog database unreachable", { host: err.host, code: err.reason });
      console.error(err.operatorMessage);
      Deno.exit(ExitCode.Unavailable);
    }
    if (isSoundalikeError(err)) {
      logger.debug("User error", { code: err.code, cause: err.cause });
      console.error(err.message);
      Deno.exit(ExitCode.Failed);
    }
    logger.error("Unexpected failure", { err });
    console.error(`Something went wrong: ${err instanceof Error ? err.message : String(err)}`);
    Deno.exit(ExitCode.Failed);
  }
}
