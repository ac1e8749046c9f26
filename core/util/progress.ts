/**
 * Terminal progress bars: the only module that imports `cli-progress`. A bar on standard error
 * with the count, rate, ETA and any detail fields (loss, accuracy, cached clips) after it; in a
 * non-interactive terminal (CI, pipes) it prints a line every few seconds instead.
 * @module
 */
import cliProgress from "cli-progress";
import type { ProgressReporter } from "../catalog/reindex.ts";

/** How a terminal progress bar looks. */
export interface TerminalProgressOptions {
  /** What is counted, shown after the count (e.g. "tracks"); empty for none. @default "items" */
  unit?: string;
  /** The label (the stage's name) is padded to this many characters. @default 10 */
  labelWidth?: number;
  /** Width of the bar in characters. @default 30 */
  barSize?: number;
  /** In a non-interactive terminal, milliseconds between printed lines. @default 5000 */
  nonTtyIntervalMs?: number;
  /** How many recent updates the ETA is estimated from. @default 50 */
  etaBuffer?: number;
  /** What separates the detail fields (each printed as `name value`). @default ", " */
  detailSeparator?: string;
}

/**
 * Creates a {@linkcode ProgressReporter} that draws a bar on standard error. `update(done, detail)`
 * shows `done/total`, the rate since `start`, the ETA and then the detail fields in their order.
 *
 * @param options The unit counted (a string, as before), or {@linkcode TerminalProgressOptions}.
 * @default options "items"
 * @returns The reporter; call `stop()` when the stage ends (also on failure) to finish the line.
 * @example
 * ```ts ignore
 * import { createTerminalProgress } from "./progress.ts";
 * const bar = createTerminalProgress({ unit: "", labelWidth: 22, detailSeparator: " " });
 * bar.start(100, "epoch 1/30");
 * bar.update(50, { loss: "0.693", acc: "0.512" });
 * bar.stop();
 * ```
 */
export function createTerminalProgress(options: string | TerminalProgressOptions = {}): ProgressReporter {
  const opts: TerminalProgressOptions = typeof options === "string" ? { unit: options } : options;
  const unit = opts.unit ?? "items";
  const separator = opts.detailSeparator ?? ", ";
  let bar: InstanceType<typeof cliProgress.SingleBar> | undefined;
  let started = 0;
  return {
    start(total, label) {
      bar?.stop();
      started = performance.now();
      const count = unit === "" ? "{value}/{total}" : `{value}/{total} ${unit}`;
      bar = new cliProgress.SingleBar({
        format: `${
          label.padEnd(opts.labelWidth ?? 10)
        } [{bar}] ${count} | {rate}/s | ETA {eta_formatted}{extra}`,
        barsize: opts.barSize ?? 30,
        noTTYOutput: true,
        notTTYSchedule: opts.nonTtyIntervalMs ?? 5000,
        hideCursor: false,
        etaBuffer: opts.etaBuffer ?? 50,
      }, cliProgress.Presets.shades_classic);
      bar.start(total, 0, { rate: "0.0", extra: "" });
    },
    update(done, detail) {
      const seconds = (performance.now() - started) / 1000;
      const rate = seconds > 0 ? (done / seconds).toFixed(1) : "0.0";
      bar?.update(done, { rate, extra: formatDetail(detail, separator) });
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}

/** The text after the bar's ETA: `" | name value<sep>name value"`, or nothing without detail. */
function formatDetail(detail: Record<string, string | number> | undefined, separator: string): string {
  const fields = Object.entries(detail ?? {});
  return fields.length === 0 ? "" : " | " + fields.map(([k, v]) => `${k} ${v}`).join(separator);
}
