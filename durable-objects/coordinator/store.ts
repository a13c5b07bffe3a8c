// The run coordinator's SQLite tables and typed access to them. Synchronous: every method
// runs inside one turn of the Durable Object, so a read-then-write cannot interleave.
import type { BatchSpec, Json, OutputFile, Phase, PhaseCounts, RunStatus, TaskError, TaskInput, TaskStatus, TaskView } from "../../src/types";
import { PHASES } from "../../src/types";

const DDL = `
CREATE TABLE IF NOT EXISTS run (
  id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, params TEXT NOT NULL, status TEXT NOT NULL,
  phase TEXT, batches INTEGER NOT NULL, created_at INTEGER NOT NULL, started_at INTEGER,
  finished_at INTEGER, reason TEXT, output TEXT
);
CREATE TABLE IF NOT EXISTS batches (id TEXT PRIMARY KEY, partition TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, phase TEXT NOT NULL, grp TEXT NOT NULL,
  batch_id TEXT, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, input TEXT NOT NULL,
  output TEXT, bad_rows INTEGER NOT NULL DEFAULT 0, error TEXT, enqueued_at INTEGER,
  started_at INTEGER, finished_at INTEGER
);
CREATE INDEX IF NOT EXISTS tasks_by_phase_status ON tasks (phase, status);
CREATE TABLE IF NOT EXISTS phases (phase TEXT PRIMARY KEY, started_at INTEGER, finished_at INTEGER);
`;

export interface RunRow {
  id: string;
  pipeline: string;
  params: Json;
  status: RunStatus;
  phase: Phase | null;
  batches: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  reason: string | null;
  output: OutputFile | null;
}

export interface TaskRow extends TaskView {
  seq: number;
  input: TaskInput;
  output: OutputFile | null;
  badRows: number;
  enqueuedAt: number | null;
}

type SqlRow = Record<string, SqlStorageValue>;

const num = (v: SqlStorageValue | undefined): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: SqlStorageValue | undefined): string | null => (v === null || v === undefined ? null : String(v));
const parsed = <T>(v: SqlStorageValue | undefined): T | null => (v === null || v === undefined ? null : (JSON.parse(String(v)) as T));

function toTask(r: SqlRow): TaskRow {
  const output = parsed<OutputFile>(r.output);
  return {
    seq: Number(r.seq),
    id: String(r.id),
    phase: String(r.phase) as Phase,
    group: String(r.grp),
    batchId: str(r.batch_id),
    status: String(r.status) as TaskStatus,
    attempts: Number(r.attempts),
    input: parsed<TaskInput>(r.input)!,
    output,
    rows: output?.rows ?? null,
    outputKey: output?.key ?? null,
    badRows: Number(r.bad_rows),
    error: parsed<TaskError>(r.error),
    enqueuedAt: num(r.enqueued_at),
    startedAt: num(r.started_at),
    finishedAt: num(r.finished_at),
  };
}

export class CoordinatorStore {
  /** Tables exist only once a run was started here: reads of an unknown run create nothing. */
  private ready: boolean;

  constructor(private readonly sql: SqlStorage) {
    this.ready = sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'run'").toArray().length > 0;
  }

  exists(): boolean {
    return this.run() !== null;
  }

  create(run: Omit<RunRow, "output" | "reason" | "finishedAt">, batches: Iterable<BatchSpec>): number {
    this.sql.exec(DDL);
    this.ready = true;
    let count = 0;
    for (const b of batches) {
      this.sql.exec("INSERT INTO batches (id, partition, data) VALUES (?, ?, ?)", b.id, b.partition, JSON.stringify(b.data));
      this.insertTask(`ingest-${b.id}`, "ingest", "initial", b.id, { kind: "ingest", batch: b });
      count++;
    }
    this.sql.exec(
      "INSERT INTO run (id, pipeline, params, status, phase, batches, created_at, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      run.id, run.pipeline, JSON.stringify(run.params), run.status, run.phase, count, run.createdAt, run.startedAt,
    );
    this.phaseStarted("ingest", run.startedAt ?? run.createdAt);
    return count;
  }

  run(): RunRow | null {
    if (!this.ready) return null;
    const r = this.sql.exec("SELECT * FROM run LIMIT 1").toArray()[0];
    if (!r) return null;
    return {
      id: String(r.id),
      pipeline: String(r.pipeline),
      params: JSON.parse(String(r.params)) as Json,
      status: String(r.status) as RunStatus,
      phase: str(r.phase) as Phase | null,
      batches: Number(r.batches),
      createdAt: Number(r.created_at),
      startedAt: num(r.started_at),
      finishedAt: num(r.finished_at),
      reason: str(r.reason),
      output: parsed<OutputFile>(r.output),
    };
  }

  setPhase(phase: Phase, now: number): void {
    this.sql.exec("UPDATE run SET phase = ?", phase);
    this.phaseStarted(phase, now);
  }

  finishRun(status: RunStatus, reason: string | null, output: OutputFile | null, now: number): void {
    this.sql.exec("UPDATE run SET status = ?, reason = ?, output = ?, finished_at = ?", status, reason, output ? JSON.stringify(output) : null, now);
  }

  phaseStarted(phase: Phase, now: number): void {
    this.sql.exec("INSERT INTO phases (phase, started_at) VALUES (?, ?) ON CONFLICT (phase) DO NOTHING", phase, now);
  }

  phaseFinished(phase: Phase, now: number): void {
    this.sql.exec("UPDATE phases SET finished_at = ? WHERE phase = ? AND finished_at IS NULL", now, phase);
  }

  phaseTimes(): Map<Phase, { startedAt: number | null; finishedAt: number | null }> {
    const rows = this.sql.exec("SELECT phase, started_at, finished_at FROM phases").toArray();
    return new Map(rows.map((r) => [String(r.phase) as Phase, { startedAt: num(r.started_at), finishedAt: num(r.finished_at) }]));
  }

  insertTask(id: string, phase: Phase, group: string, batchId: string | null, input: TaskInput): void {
    this.sql.exec(
      "INSERT INTO tasks (id, phase, grp, batch_id, status, input) VALUES (?, ?, ?, ?, 'pending', ?) ON CONFLICT (id) DO NOTHING",
      id, phase, group, batchId, JSON.stringify(input),
    );
  }

  task(id: string): TaskRow | null {
    const r = this.sql.exec("SELECT * FROM tasks WHERE id = ?", id).toArray()[0];
    return r ? toTask(r) : null;
  }

  /** Take up to `limit` pending tasks and mark them running (enqueued) in the same turn. */
  claimPending(limit: number, now: number): TaskRow[] {
    if (limit <= 0) return [];
    const rows = this.sql.exec("SELECT * FROM tasks WHERE status = 'pending' ORDER BY seq LIMIT ?", limit).toArray().map(toTask);
    for (const t of rows) this.sql.exec("UPDATE tasks SET status = 'running', enqueued_at = ?, attempts = attempts + 1 WHERE seq = ?", now, t.seq);
    return rows;
  }

  /** Put tasks back to pending (their messages could not be sent). */
  unclaim(seqs: number[]): void {
    for (const seq of seqs) this.sql.exec("UPDATE tasks SET status = 'pending', enqueued_at = NULL, attempts = attempts - 1 WHERE seq = ? AND status = 'running'", seq);
  }

  running(): number {
    return Number(this.sql.exec("SELECT count(*) AS n FROM tasks WHERE status = 'running'").one().n);
  }

  /** Running tasks enqueued before `before`: their message may be lost. */
  stale(before: number, limit: number): TaskRow[] {
    return this.sql.exec("SELECT * FROM tasks WHERE status = 'running' AND enqueued_at < ? ORDER BY seq LIMIT ?", before, limit).toArray().map(toTask);
  }

  touch(seq: number, now: number): void {
    this.sql.exec("UPDATE tasks SET enqueued_at = ?, attempts = attempts + 1 WHERE seq = ?", now, seq);
  }

  settle(seq: number, status: "succeeded" | "failed" | "dead", r: { output?: OutputFile; badRows?: number; error?: TaskError; attempts: number; startedAt: number; finishedAt: number }): void {
    this.sql.exec(
      "UPDATE tasks SET status = ?, output = ?, bad_rows = ?, error = ?, attempts = max(attempts, ?), started_at = ?, finished_at = ? WHERE seq = ?",
      status, r.output ? JSON.stringify(r.output) : null, r.badRows ?? 0, r.error ? JSON.stringify(r.error) : null, r.attempts, r.startedAt, r.finishedAt, seq,
    );
  }

  open(phase: Phase): number {
    return Number(this.sql.exec("SELECT count(*) AS n FROM tasks WHERE phase = ? AND status IN ('pending', 'running')", phase).one().n);
  }

  tasks(filter: { phase?: Phase; status?: TaskStatus; group?: string; afterSeq?: number; limit?: number }): TaskRow[] {
    const where: string[] = [];
    const args: SqlStorageValue[] = [];
    if (filter.phase) (where.push("phase = ?"), args.push(filter.phase));
    if (filter.status) (where.push("status = ?"), args.push(filter.status));
    if (filter.group) (where.push("grp = ?"), args.push(filter.group));
    if (filter.afterSeq !== undefined) (where.push("seq > ?"), args.push(filter.afterSeq));
    const sql = `SELECT * FROM tasks ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq LIMIT ?`;
    return this.sql.exec(sql, ...args, filter.limit ?? 1_000_000).toArray().map(toTask);
  }

  counts(): Record<Phase, PhaseCounts> {
    const out = Object.fromEntries(PHASES.map((p) => [p, { pending: 0, running: 0, succeeded: 0, failed: 0, dead: 0, total: 0 }])) as Record<Phase, PhaseCounts>;
    for (const r of this.sql.exec("SELECT phase, status, count(*) AS n FROM tasks GROUP BY phase, status").toArray()) {
      const c = out[String(r.phase) as Phase];
      if (!c) continue;
      c[String(r.status) as TaskStatus] += Number(r.n);
      c.total += Number(r.n);
    }
    return out;
  }

  badRows(): number {
    return Number(this.sql.exec("SELECT coalesce(sum(bad_rows), 0) AS n FROM tasks").one().n);
  }

  /** Batches whose chain broke: a dead or failed task in ingest, refine or silver. */
  lostBatches(): number {
    return Number(this.sql.exec("SELECT count(DISTINCT batch_id) AS n FROM tasks WHERE status IN ('failed', 'dead') AND phase != 'aggregate'").one().n);
  }

  maxMergeLevel(): number {
    return Number(this.sql.exec("SELECT coalesce(max(json_extract(input, '$.level')), 0) AS n FROM tasks WHERE phase = 'aggregate'").one().n);
  }

  storageBytes(): number {
    return this.sql.databaseSize;
  }
}
