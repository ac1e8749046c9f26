/**
 * A terminal progress bar (npm `cli-progress`) on standard error, with rate and ETA; in a
 * non-interactive terminal (CI, pipes) it prints a line every few seconds instead.
 * @module
 */
import cliProgress from "cli-progress";
import type { ProgressReporter } from "../reindex.ts";

/**
 * Creates a {@linkcode ProgressReporter} that draws on standard error.
 *
 * @param unit What is counted, e.g. "tracks".
 * @returns The reporter.
 */
export function createTerminalProgress(unit = "items"): ProgressReporter {
  let bar: InstanceType<typeof cliProgress.SingleBar> | undefined;
  let started = 0;
  return {
    start(total, label) {
      started = performance.now();
      bar = new cliProgress.SingleBar({
        format: `${label.padEnd(10)} [{bar}] {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted}{extra}`,
        barsize: 30,
        noTTYOutput: true,
        notTTYSchedule: 5000,
        hideCursor: false,
        etaBuffer: 50,
      }, cliProgress.Presets.shades_classic);
      bar.start(total, 0, { rate: "0.0", extra: "" });
    },
    update(done, detail) {
      const seconds = (performance.now() - started) / 1000;
      const rate = seconds > 0 ? (done / seconds).toFixed(1) : "0.0";
      const extra = detail ? " | " + Object.entries(detail).map(([k, v]) => `${k} ${v}`).join(", ") : "";
      bar?.update(done, { rate, extra });
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
