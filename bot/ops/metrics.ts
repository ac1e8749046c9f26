/**
 * Prometheus metrics: the one module that imports prom-client. Each process keeps its own
 * registry: answers and errors by command, answer latency, jobs by kind and outcome, job time, the
 * queue's depth and the served index version (the last two read when scraped).
 * @module
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** What the chat and worker code report. */
export interface Metrics {
  /** A chat answer: the command, `ok` or the notice's code, and the time since the request. */
  answered(command: string, outcome: string, seconds: number): void;
  /** A job a worker ran: its kind, `done`/`refused`/`user_error`/`failed`, and its time. */
  jobDone(kind: string, outcome: string, seconds: number): void;
  /** The Prometheus text exposition. */
  render(): Promise<{ contentType: string; body: string }>;
}

/** Read when scraped. */
export interface MetricSources {
  /** Jobs waiting in the shared queue (undefined: no queue, or it does not answer). */
  queueWaiting?: () => Promise<number | undefined>;
  /** The index version `CURRENT` names (undefined: none yet). */
  indexVersion?: () => Promise<number | undefined>;
}

const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60];

/**
 * A registry with Soundalike's metrics.
 *
 * @param labels Labels every metric carries (`role`, `shards`).
 * @param sources Gauges read at scrape time.
 * @returns The {@linkcode Metrics}.
 * @example
 * ```ts
 * import { createMetrics } from "./metrics.ts";
 * const metrics = createMetrics({ role: "chat" });
 * metrics.answered("similar", "ok", 0.4);
 * const { body } = await metrics.render();
 * console.assert(body.includes('soundalike_answers_total{command="similar",outcome="ok",role="chat"} 1'));
 * ```
 */
export function createMetrics(labels: Record<string, string>, sources: MetricSources = {}): Metrics {
  const register = new Registry();
  register.setDefaultLabels(labels);
  const answers = new Counter({
    name: "soundalike_answers_total",
    help: "Chat answers by command and outcome (ok, or the error notice's code)",
    labelNames: ["command", "outcome"],
    registers: [register],
  });
  const errors = new Counter({
    name: "soundalike_errors_total",
    help: "Chat answers that were errors, by code",
    labelNames: ["code"],
    registers: [register],
  });
  const latency = new Histogram({
    name: "soundalike_answer_seconds",
    help: "Time from a request to its answer",
    labelNames: ["command"],
    buckets: LATENCY_BUCKETS,
    registers: [register],
  });
  const jobs = new Counter({
    name: "soundalike_jobs_total",
    help: "Jobs a worker ran, by kind and outcome",
    labelNames: ["kind", "outcome"],
    registers: [register],
  });
  const jobTime = new Histogram({
    name: "soundalike_job_seconds",
    help: "Time a worker spent on a job",
    labelNames: ["kind"],
    buckets: LATENCY_BUCKETS,
    registers: [register],
  });
  if (sources.queueWaiting) {
    const read = sources.queueWaiting;
    new Gauge({
      name: "soundalike_queue_waiting",
      help: "Jobs waiting for a worker in the shared queue",
      registers: [register],
      async collect() {
        const n = await read().catch(() => undefined);
        if (n !== undefined) this.set(n);
      },
    });
  }
  if (sources.indexVersion) {
    const read = sources.indexVersion;
    new Gauge({
      name: "soundalike_index_version",
      help: "The index version CURRENT names",
      registers: [register],
      async collect() {
        const v = await read().catch(() => undefined);
        if (v !== undefined) this.set(v);
      },
    });
  }
  return {
    answered(command, outcome, seconds) {
      answers.inc({ command, outcome });
      if (outcome !== "ok") errors.inc({ code: outcome });
      latency.observe({ command }, seconds);
    },
    jobDone(kind, outcome, seconds) {
      jobs.inc({ kind, outcome });
      jobTime.observe({ kind }, seconds);
    },
    async render() {
      return { contentType: register.contentType, body: await register.metrics() };
    },
  };
}
