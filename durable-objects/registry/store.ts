// The pipeline registry's SQLite tables: the run index and admission queue, output version
// counters, schedule watermarks and firings, backfills, and the paused flag.
import type { DateWindow } from "../../src/pipelines/schedule";
import type { Json, RunOptions, RunOutput, RunStatus, RunSummary } from "../../src/types";

const DDL = `
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY, status TEXT NOT NULL, created_at INTEGER NOT NULL, summary TEXT NOT NULL,
  request TEXT, lane TEXT NOT NULL DEFAULT 'main', schedule TEXT, window_from TEXT, window_to TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_created ON runs (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS runs_by_lane ON runs (lane, status, created_at);
CREATE TABLE IF NOT EXISTS versions (window TEXT PRIMARY KEY, last INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS watermarks (schedule TEXT PRIMARY KEY, window_to TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS firings (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, schedule TEXT NOT NULL, cron TEXT NOT NULL,
  scheduled_time INTEGER NOT NULL, outcome TEXT NOT NULL, runs TEXT NOT NULL, at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS compacted (
  compaction TEXT NOT NULL, window_from TEXT NOT NULL, inputs TEXT NOT NULL, run_id TEXT NOT NULL, round INTEGER NOT NULL,
  PRIMARY KEY (compaction, window_from)
);
CREATE TABLE IF NOT EXISTS trigger_inputs (
  trigger TEXT NOT NULL, window_from TEXT NOT NULL, window_to TEXT NOT NULL, upstream TEXT NOT NULL, run_id TEXT NOT NULL, at INTEGER NOT NULL,
  PRIMARY KEY (trigger, window_from, upstream)
);
CREATE TABLE IF NOT EXISTS backfills (
  id TEXT PRIMARY KEY, spec TEXT NOT NULL, max_parallel INTEGER NOT NULL, created_at INTEGER NOT NULL
);
`;

/** What a run needs to be started later, kept while it waits in the queue. */
export interface RunRequest {
  runId: string;
  params: Json;
  options: RunOptions;
  /** `main` (manual and scheduled runs, bounded by maxConcurrentRuns) or `backfill:<id>`. */
  lane: string;
  trigger: "manual" | "schedule" | "backfill" | "data" | "flow";
  schedule?: string;
  window?: DateWindow;
  /** The run is a step of a flow's run: that flow's coordinator hears when it ends. */
  flow?: { name: string; run: string; step: string };
}

export interface Firing {
  schedule: string;
  cron: string;
  scheduledTime: string;
  /** `waiting_on_past`: nothing started, a window before is not yet succeeded (dependsOnPast). */
  outcome: "started" | "skipped_paused" | "nothing_new" | "waiting_on_past";
  runs: string[];
  at: string;
}

export interface IndexedRun {
  id: string;
  status: RunStatus | "starting";
  lane: string;
  createdAt: number;
  summary: RunSummary;
  request: RunRequest | null;
}

/** A run's status as callers see it: one the registry has told to start is running. */
export const shownStatus = (status: RunStatus | "starting"): RunStatus => (status === "starting" ? "running" : status);

type Row = Record<string, SqlStorageValue>;

const toRun = (r: Row): IndexedRun => ({
  id: String(r.id),
  status: String(r.status) as IndexedRun["status"],
  lane: String(r.lane),
  createdAt: Number(r.created_at),
  summary: JSON.parse(String(r.summary)) as RunSummary,
  request: r.request === null ? null : (JSON.parse(String(r.request)) as RunRequest),
});

/** A run's output that passed quality (summaries stored before `published` existed: a succeeded or partial run's output). */
export function publishedOutput(r: IndexedRun): RunOutput | null {
  if (r.summary.published !== undefined) return r.summary.published;
  return r.status === "succeeded" || r.status === "partial" ? r.summary.output : null;
}

/** A submitted run's summary until its coordinator reports one. */
export function placeholder(request: RunRequest, pipeline: string, now: number): RunSummary {
  return {
    id: request.runId,
    pipeline,
    status: "queued",
    phase: null,
    createdAt: now,
    startedAt: null,
    finishedAt: null,
    reason: null,
    version: null,
    output: null,
    published: null,
    progress: { done: 0, total: 0, percent: 0 },
  };
}

export class RegistryStore {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(DDL);
  }

  run(id: string): IndexedRun | null {
    const r = this.sql.exec("SELECT * FROM runs WHERE id = ?", id).toArray()[0];
    return r ? toRun(r) : null;
  }

  insert(request: RunRequest, summary: RunSummary): void {
    this.sql.exec(
      "INSERT INTO runs (id, status, created_at, summary, request, lane, schedule, window_from, window_to) VALUES (?, 'queued', ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
      request.runId,
      summary.createdAt,
      JSON.stringify(summary),
      JSON.stringify(request),
      request.lane,
      request.schedule ?? null,
      request.window?.from ?? null,
      request.window?.to ?? null,
    );
  }

  /** The coordinator's latest summary. `starting` is kept until the coordinator says it runs. */
  record(summary: RunSummary): IndexedRun | null {
    this.sql.exec(
      "UPDATE runs SET status = CASE WHEN status = 'starting' AND ? = 'queued' THEN 'starting' ELSE ? END, summary = ? WHERE id = ?",
      summary.status,
      summary.status,
      JSON.stringify(summary),
      summary.id,
    );
    this.sql.exec(
      "INSERT INTO runs (id, status, created_at, summary) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
      summary.id,
      summary.status,
      summary.createdAt,
      JSON.stringify(summary),
    );
    return this.run(summary.id);
  }

  setStatus(id: string, status: IndexedRun["status"]): void {
    this.sql.exec("UPDATE runs SET status = ? WHERE id = ?", status, id);
  }

  active(lane: string): number {
    return Number(this.sql.exec("SELECT count(*) AS n FROM runs WHERE lane = ? AND status IN ('running', 'starting')", lane).one().n);
  }

  /** Lanes with runs waiting, and their oldest waiting run. */
  waiting(): IndexedRun[] {
    return this.sql
      .exec(
        "SELECT * FROM runs r WHERE status = 'queued' AND created_at = (SELECT min(created_at) FROM runs q WHERE q.lane = r.lane AND q.status = 'queued') ORDER BY created_at, id",
      )
      .toArray()
      .map(toRun);
  }

  list(filter: { status?: RunStatus; before?: string; limit: number }): IndexedRun[] {
    const where: string[] = [];
    const args: SqlStorageValue[] = [];
    if (filter.status) (where.push("status = ?"), args.push(filter.status));
    if (filter.before) {
      const at = filter.before.indexOf(":");
      const created = Number(filter.before.slice(0, at));
      where.push("(created_at < ? OR (created_at = ? AND id < ?))");
      args.push(created, created, filter.before.slice(at + 1));
    }
    return this.sql
      .exec(`SELECT * FROM runs ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at DESC, id DESC LIMIT ?`, ...args, filter.limit)
      .toArray()
      .map(toRun);
  }

  lane(lane: string): IndexedRun[] {
    return this.sql.exec("SELECT * FROM runs WHERE lane = ? ORDER BY window_from, created_at", lane).toArray().map(toRun);
  }

  /** Runs of a schedule whose window lies within [from, to). */
  scheduled(schedule: string, from: string, to: string): IndexedRun[] {
    return this.sql
      .exec("SELECT * FROM runs WHERE schedule = ? AND window_from >= ? AND window_to <= ? ORDER BY window_from", schedule, from, to)
      .toArray()
      .map(toRun);
  }

  /** The last compaction of a window: the fingerprint of the outputs it merged, its run, its round (1, 2, …). */
  compacted(compaction: string, windowFrom: string): { inputs: string; runId: string; round: number } | null {
    const r = this.sql.exec("SELECT * FROM compacted WHERE compaction = ? AND window_from = ?", compaction, windowFrom).toArray()[0];
    return r ? { inputs: String(r.inputs), runId: String(r.run_id), round: Number(r.round) } : null;
  }

  setCompacted(compaction: string, windowFrom: string, inputs: string, runId: string, round: number): void {
    this.sql.exec(
      "INSERT INTO compacted (compaction, window_from, inputs, run_id, round) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET inputs = excluded.inputs, run_id = excluded.run_id, round = excluded.round",
      compaction,
      windowFrom,
      inputs,
      runId,
      round,
    );
  }

  allocateVersion(window: string): number {
    return Number(
      this.sql.exec("INSERT INTO versions (window, last) VALUES (?, 1) ON CONFLICT (window) DO UPDATE SET last = last + 1 RETURNING last", window).one().last,
    );
  }

  get(key: string): string | null {
    const r = this.sql.exec("SELECT value FROM state WHERE key = ?", key).toArray()[0];
    return r ? String(r.value) : null;
  }

  set(key: string, value: string): void {
    this.sql.exec("INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value);
  }

  watermark(schedule: string): string | null {
    const r = this.sql.exec("SELECT window_to FROM watermarks WHERE schedule = ?", schedule).toArray()[0];
    return r ? String(r.window_to) : null;
  }

  /** An upstream's run that succeeded for a window of a trigger (the latest one kept). */
  addTriggerInput(trigger: string, window: DateWindow, upstream: string, runId: string, at: number): void {
    this.sql.exec(
      "INSERT INTO trigger_inputs (trigger, window_from, window_to, upstream, run_id, at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (trigger, window_from, upstream) DO UPDATE SET run_id = excluded.run_id, at = excluded.at",
      trigger,
      window.from,
      window.to,
      upstream,
      runId,
      at,
    );
  }

  /** The upstreams that delivered a trigger's window, with their runs. */
  triggerInputs(trigger: string, windowFrom: string): { upstream: string; runId: string }[] {
    return this.sql
      .exec("SELECT upstream, run_id FROM trigger_inputs WHERE trigger = ? AND window_from = ? ORDER BY upstream", trigger, windowFrom)
      .toArray()
      .map((r) => ({ upstream: String(r.upstream), runId: String(r.run_id) }));
  }

  /** The windows of a trigger that have inputs, newest first. */
  triggerWindows(trigger: string, limit: number): DateWindow[] {
    return this.sql
      .exec(
        "SELECT window_from, max(window_to) AS window_to FROM trigger_inputs WHERE trigger = ? GROUP BY window_from ORDER BY window_from DESC LIMIT ?",
        trigger,
        limit,
      )
      .toArray()
      .map((r) => ({ from: String(r.window_from), to: String(r.window_to) }));
  }

  /** Every run of a schedule's window (its attempts), oldest first. */
  attempts(schedule: string, windowFrom: string): IndexedRun[] {
    return this.sql.exec("SELECT * FROM runs WHERE schedule = ? AND window_from = ? ORDER BY created_at, id", schedule, windowFrom).toArray().map(toRun);
  }

  /** The windows of a schedule that have runs, newest first. */
  windows(schedule: string, limit: number): DateWindow[] {
    return this.sql
      .exec(
        "SELECT window_from, max(window_to) AS window_to FROM runs WHERE schedule = ? GROUP BY window_from ORDER BY window_from DESC LIMIT ?",
        schedule,
        limit,
      )
      .toArray()
      .map((r) => ({ from: String(r.window_from), to: String(r.window_to) }));
  }

  /** The end of a schedule's settled windows (windows before it are not started again); only moves forward. */
  advanceWatermark(schedule: string, windowTo: string): void {
    this.sql.exec(
      "INSERT INTO watermarks (schedule, window_to) VALUES (?, ?) ON CONFLICT (schedule) DO UPDATE SET window_to = max(window_to, excluded.window_to)",
      schedule,
      windowTo,
    );
  }

  addFiring(f: { schedule: string; cron: string; scheduledTime: number; outcome: Firing["outcome"]; runs: string[]; at: number }): void {
    this.sql.exec(
      "INSERT INTO firings (schedule, cron, scheduled_time, outcome, runs, at) VALUES (?, ?, ?, ?, ?, ?)",
      f.schedule,
      f.cron,
      f.scheduledTime,
      f.outcome,
      JSON.stringify(f.runs),
      f.at,
    );
  }

  firings(limit: number): Firing[] {
    return this.sql
      .exec("SELECT * FROM firings ORDER BY seq DESC LIMIT ?", limit)
      .toArray()
      .map((r) => ({
        schedule: String(r.schedule),
        cron: String(r.cron),
        scheduledTime: new Date(Number(r.scheduled_time)).toISOString(),
        outcome: String(r.outcome) as Firing["outcome"],
        runs: JSON.parse(String(r.runs)) as string[],
        at: new Date(Number(r.at)).toISOString(),
      }));
  }

  addBackfill(id: string, spec: Json, maxParallel: number, now: number): void {
    this.sql.exec(
      "INSERT INTO backfills (id, spec, max_parallel, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
      id,
      JSON.stringify(spec),
      maxParallel,
      now,
    );
  }

  backfill(id: string): { id: string; spec: Json; maxParallel: number; createdAt: number } | null {
    const r = this.sql.exec("SELECT * FROM backfills WHERE id = ?", id).toArray()[0];
    return r ? { id: String(r.id), spec: JSON.parse(String(r.spec)) as Json, maxParallel: Number(r.max_parallel), createdAt: Number(r.created_at) } : null;
  }

  backfills(limit: number): string[] {
    return this.sql
      .exec("SELECT id FROM backfills ORDER BY created_at DESC LIMIT ?", limit)
      .toArray()
      .map((r) => String(r.id));
  }
}
