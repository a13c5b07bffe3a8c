// The flow coordinator's tables: its runs (one per window: the id says which), each step's state
// in each run (the attempt it is on and the pipeline run that attempt is), and its settings.
import type { FlowStatus, StepStatus } from "../../src/flows/define";
import type { FlowRunState, StepState } from "../../src/flows/views";

const DDL = `
CREATE TABLE IF NOT EXISTS flow_runs (
  id TEXT PRIMARY KEY,
  window_from TEXT NOT NULL,
  window_to TEXT NOT NULL,
  status TEXT NOT NULL,
  trigger TEXT NOT NULL,
  schedule TEXT,
  force INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  deadline INTEGER,
  reason TEXT
);
CREATE INDEX IF NOT EXISTS flow_runs_by_status ON flow_runs (status, created_at);
CREATE TABLE IF NOT EXISTS flow_steps (
  run_id TEXT NOT NULL,
  step TEXT NOT NULL,
  status TEXT NOT NULL,
  attempt INTEGER NOT NULL DEFAULT 0,
  step_run_id TEXT,
  run_status TEXT,
  started_at INTEGER,
  finished_at INTEGER,
  next_at INTEGER,
  reason TEXT,
  PRIMARY KEY (run_id, step)
);
CREATE TABLE IF NOT EXISTS flow_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

export type FlowRunRow = FlowRunState;

export interface StepRow extends StepState {
  step: string;
}

type Row = Record<string, SqlStorageValue>;
const num = (v: SqlStorageValue | undefined) => (v === null || v === undefined ? null : Number(v));
const str = (v: SqlStorageValue | undefined) => (v === null || v === undefined ? null : String(v));

const toRun = (r: Row): FlowRunRow => ({
  id: String(r.id),
  window: { from: String(r.window_from), to: String(r.window_to) },
  status: String(r.status) as FlowStatus,
  trigger: String(r.trigger) as FlowRunRow["trigger"],
  schedule: str(r.schedule),
  force: Number(r.force) === 1,
  createdAt: Number(r.created_at),
  startedAt: num(r.started_at),
  finishedAt: num(r.finished_at),
  deadline: num(r.deadline),
  reason: str(r.reason),
});

const toStep = (r: Row): StepRow => ({
  step: String(r.step),
  status: String(r.status) as StepStatus,
  attempt: Number(r.attempt),
  runId: str(r.step_run_id),
  runStatus: str(r.run_status),
  startedAt: num(r.started_at),
  finishedAt: num(r.finished_at),
  nextAt: num(r.next_at),
  reason: str(r.reason),
});

export class FlowStore {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(DDL);
  }

  get(key: string): string | null {
    const r = this.sql.exec("SELECT value FROM flow_settings WHERE key = ?", key).toArray()[0];
    return r ? String(r.value) : null;
  }

  set(key: string, value: string): void {
    this.sql.exec("INSERT INTO flow_settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value);
  }

  run(id: string): FlowRunRow | null {
    const r = this.sql.exec("SELECT * FROM flow_runs WHERE id = ?", id).toArray()[0];
    return r ? toRun(r) : null;
  }

  /** Newest first. */
  runs(limit: number, status?: FlowStatus): FlowRunRow[] {
    const rows = status
      ? this.sql.exec("SELECT * FROM flow_runs WHERE status = ? ORDER BY created_at DESC, id DESC LIMIT ?", status, limit)
      : this.sql.exec("SELECT * FROM flow_runs ORDER BY created_at DESC, id DESC LIMIT ?", limit);
    return rows.toArray().map(toRun);
  }

  /** The oldest queued run, if any. */
  nextQueued(): FlowRunRow | null {
    const r = this.sql.exec("SELECT * FROM flow_runs WHERE status = 'queued' ORDER BY created_at, id LIMIT 1").toArray()[0];
    return r ? toRun(r) : null;
  }

  countRunning(): number {
    return Number(this.sql.exec("SELECT count(*) AS n FROM flow_runs WHERE status = 'running'").one().n);
  }

  /** A new run and its steps, all waiting. */
  insert(run: Omit<FlowRunRow, "startedAt" | "finishedAt" | "deadline" | "reason">, steps: string[]): void {
    this.sql.exec(
      "INSERT INTO flow_runs (id, window_from, window_to, status, trigger, schedule, force, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      run.id,
      run.window.from,
      run.window.to,
      run.status,
      run.trigger,
      run.schedule,
      run.force ? 1 : 0,
      run.createdAt,
    );
    for (const step of steps) this.sql.exec("INSERT INTO flow_steps (run_id, step, status) VALUES (?, ?, 'waiting')", run.id, step);
  }

  begin(id: string, now: number, deadline: number | null): void {
    this.sql.exec(
      "UPDATE flow_runs SET status = 'running', started_at = coalesce(started_at, ?), finished_at = NULL, reason = NULL, deadline = ? WHERE id = ?",
      now,
      deadline,
      id,
    );
  }

  /** An ended run waits its turn to run again (re-run from the steps that did not succeed). */
  requeue(id: string): void {
    this.sql.exec("UPDATE flow_runs SET status = 'queued', finished_at = NULL, reason = NULL, deadline = NULL WHERE id = ?", id);
  }

  finish(id: string, status: FlowStatus, now: number, reason: string | null): void {
    this.sql.exec("UPDATE flow_runs SET status = ?, finished_at = ?, reason = ?, deadline = NULL WHERE id = ?", status, now, reason, id);
  }

  steps(runId: string): StepRow[] {
    return this.sql.exec("SELECT * FROM flow_steps WHERE run_id = ?", runId).toArray().map(toStep);
  }

  step(runId: string, step: string): StepRow | null {
    const r = this.sql.exec("SELECT * FROM flow_steps WHERE run_id = ? AND step = ?", runId, step).toArray()[0];
    return r ? toStep(r) : null;
  }

  /** The step's next attempt is its pipeline run `stepRunId`, running from `now`. */
  startStep(runId: string, step: string, stepRunId: string, now: number): void {
    this.sql.exec(
      "UPDATE flow_steps SET status = 'running', attempt = attempt + 1, step_run_id = ?, run_status = NULL, started_at = ?, finished_at = NULL, next_at = NULL, reason = NULL WHERE run_id = ? AND step = ?",
      stepRunId,
      now,
      runId,
      step,
    );
  }

  setStep(
    runId: string,
    step: string,
    fields: { status: StepStatus; runStatus?: string | null; finishedAt?: number | null; nextAt?: number | null; reason?: string | null },
  ): void {
    this.sql.exec(
      "UPDATE flow_steps SET status = ?, run_status = coalesce(?, run_status), finished_at = ?, next_at = ?, reason = ? WHERE run_id = ? AND step = ?",
      fields.status,
      fields.runStatus ?? null,
      fields.finishedAt ?? null,
      fields.nextAt ?? null,
      fields.reason ?? null,
      runId,
      step,
    );
  }

  /** The earliest moment something is due: a running flow's deadline or a step's retry. */
  nextDue(): number | null {
    const deadline = this.sql.exec("SELECT min(deadline) AS at FROM flow_runs WHERE status = 'running'").one().at;
    const retry = this.sql.exec("SELECT min(next_at) AS at FROM flow_steps WHERE status = 'retrying'").one().at;
    const times = [deadline, retry].filter((t) => t !== null).map(Number);
    return times.length > 0 ? Math.min(...times) : null;
  }

  /** Running runs whose deadline passed. */
  overdue(now: number): FlowRunRow[] {
    return this.sql.exec("SELECT * FROM flow_runs WHERE status = 'running' AND deadline IS NOT NULL AND deadline <= ?", now).toArray().map(toRun);
  }

  /** Steps whose retry is due, with their runs. */
  dueRetries(now: number): { runId: string; step: string }[] {
    return this.sql
      .exec("SELECT run_id, step FROM flow_steps WHERE status = 'retrying' AND next_at <= ? ORDER BY next_at", now)
      .toArray()
      .map((r) => ({ runId: String(r.run_id), step: String(r.step) }));
  }
}
