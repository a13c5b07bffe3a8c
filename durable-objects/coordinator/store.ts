// The run coordinator's SQLite tables and typed access to them. Synchronous: every method
// runs inside one turn of the Durable Object, so a read-then-write cannot interleave.
import type { RunWindow } from "../../src/pipelines/windows";
import type { QualityReport } from "../../src/quality/evaluate";
import type { DeadItem, Json, OutputFile, Phase, RunOptions, RunStatus, TaskError, TaskStatus, Usage } from "../../src/types";
import { DDL, num, parsed, str, toTask, type RunRow, type TaskRow } from "./schema";
import { PlanTables } from "./plan-tables";
import { addUsage, usageFrom } from "../../src/costs/usage";

export type { RunRow, TaskRow } from "./schema";

export class CoordinatorStore extends PlanTables {
  /** Tables exist only once a run was started here: reads of an unknown run create nothing. */
  private ready: boolean;

  constructor(sql: SqlStorage) {
    super(sql);
    this.ready = sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'run'").toArray().length > 0;
    // Coordinators created before a column get it: settled (an ended run there is settled),
    // reopened_at (a redrive or re-run's deadline counts from it), published (the served output;
    // one that ended succeeded or partial before there was a marker passed its quality).
    if (this.ready) {
      this.addColumn("settled", "INTEGER NOT NULL DEFAULT 1");
      this.addColumn("reopened_at", "INTEGER");
      if (this.addColumn("published", "TEXT")) sql.exec("UPDATE run SET published = output WHERE status IN ('succeeded', 'partial')");
      this.addColumn("planned", "INTEGER NOT NULL DEFAULT 1");
      this.addColumn("duplicate_ids", "INTEGER NOT NULL DEFAULT 0");
      sql.exec(DDL); // tables and views added since (every statement is IF NOT EXISTS)
    }
  }

  private addColumn(name: string, type: string): boolean {
    if (this.sql.exec("SELECT 1 FROM pragma_table_info('run') WHERE name = ?", name).toArray().length > 0) return false;
    this.sql.exec(`ALTER TABLE run ADD COLUMN ${name} ${type}`);
    return true;
  }

  exists(): boolean {
    return this.run() !== null;
  }

  /** The run's row; its batches follow with `addBatches` as the planner yields them. */
  create(
    run: Omit<
      RunRow,
      | "output"
      | "published"
      | "reason"
      | "finishedAt"
      | "generation"
      | "version"
      | "rerunFrom"
      | "quality"
      | "kind"
      | "dataset"
      | "batches"
      | "settled"
      | "reopenedAt"
      | "planned"
      | "duplicateIds"
    >,
  ): void {
    this.sql.exec(DDL);
    this.ready = true;
    this.sql.exec(
      "INSERT INTO run (id, pipeline, params, options, status, phase, batches, window, created_at, started_at, planned) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, 0)",
      run.id,
      run.pipeline,
      JSON.stringify(run.params),
      JSON.stringify(run.options),
      run.status,
      run.phase,
      JSON.stringify(run.window),
      run.createdAt,
      run.startedAt,
    );
  }

  /** A compaction: a run that starts at aggregate with other runs' outputs as its inputs. */
  createCompaction(run: { id: string; pipeline: string; dataset: string; window: RunWindow; inputs: number; now: number }): void {
    this.sql.exec(DDL);
    this.ready = true;
    this.sql.exec(
      "INSERT INTO run (id, pipeline, params, options, status, phase, batches, window, kind, dataset, created_at, started_at) VALUES (?, ?, '{}', '{}', 'running', 'aggregate', ?, ?, 'compaction', ?, ?, ?)",
      run.id,
      run.pipeline,
      run.inputs,
      JSON.stringify(run.window),
      run.dataset,
      run.now,
      run.now,
    );
    this.phaseStarted("aggregate", run.now);
  }

  /** A queued run starts. */
  markRunning(now: number): void {
    this.sql.exec("UPDATE run SET status = 'running', started_at = ?", now);
    this.phaseStarted("ingest", now);
  }

  /** Drop every task not yet settled (cancel, timeout). Returns how many. */
  cancelOpen(): number {
    return this.sql.exec("UPDATE tasks SET status = 'cancelled' WHERE status IN ('pending', 'running')").rowsWritten;
  }

  run(): RunRow | null {
    if (!this.ready) return null;
    const r = this.sql.exec("SELECT * FROM run LIMIT 1").toArray()[0];
    if (!r) return null;
    const window = JSON.parse(String(r.window)) as RunWindow;
    return {
      id: String(r.id),
      pipeline: String(r.pipeline),
      params: JSON.parse(String(r.params)) as Json,
      options: JSON.parse(String(r.options)) as RunOptions,
      status: String(r.status) as RunStatus,
      phase: str(r.phase) as Phase | null,
      batches: Number(r.batches),
      generation: Number(r.generation),
      window,
      version: r.version_n === null ? null : { window: window.name, hive: window.hive, n: Number(r.version_n) },
      rerunFrom: str(r.rerun_from) as Phase | null,
      quality: parsed<QualityReport>(r.quality),
      kind: String(r.kind) as RunRow["kind"],
      dataset: str(r.dataset) ?? String(r.pipeline),
      createdAt: Number(r.created_at),
      startedAt: num(r.started_at),
      reopenedAt: num(r.reopened_at),
      finishedAt: num(r.finished_at),
      settled: r.settled !== 0,
      reason: str(r.reason),
      output: parsed<OutputFile>(r.output),
      published: parsed<OutputFile>(r.published),
      planned: r.planned !== 0,
      duplicateIds: Number(r.duplicate_ids),
    };
  }

  setPhase(phase: Phase, now: number): void {
    this.sql.exec("UPDATE run SET phase = ?", phase);
    this.phaseStarted(phase, now);
  }

  finishRun(status: RunStatus, reason: string | null, output: OutputFile | null, now: number): void {
    this.sql.exec(
      "UPDATE run SET status = ?, reason = ?, output = ?, finished_at = ?, settled = 0",
      status,
      reason,
      output ? JSON.stringify(output) : null,
      now,
    );
  }

  /** `output` passed quality (its `.published` marker is written): it is the one served now. Null withdraws it. */
  publish(output: OutputFile | null): void {
    this.sql.exec("UPDATE run SET published = ?", output ? JSON.stringify(output) : null);
  }

  /** The ended run's manifest and registry summary are written. */
  markSettled(): void {
    this.sql.exec("UPDATE run SET settled = 1");
  }

  /** Start (or, on a redrive, restart) a phase's clock and its retry passes. */
  phaseStarted(phase: Phase, now: number): void {
    this.sql.exec(
      "INSERT INTO phases (phase, started_at) VALUES (?, ?) ON CONFLICT (phase) DO UPDATE SET started_at = excluded.started_at, finished_at = NULL, retry_passes = 0",
      phase,
      now,
    );
  }

  retryPasses(phase: Phase): number {
    return Number(this.sql.exec("SELECT coalesce(max(retry_passes), 0) AS n FROM phases WHERE phase = ?", phase).one().n);
  }

  bumpRetryPasses(phase: Phase): number {
    this.sql.exec("UPDATE phases SET retry_passes = retry_passes + 1 WHERE phase = ?", phase);
    return this.retryPasses(phase);
  }

  setVersion(n: number): void {
    this.sql.exec("UPDATE run SET version_n = ?", n);
  }

  setQuality(report: QualityReport): void {
    this.sql.exec("UPDATE run SET quality = ?", JSON.stringify(report));
  }

  /** A finished run runs again from `phase` (redrive or re-run), as a new generation. */
  reopen(phase: Phase, generation: number, rerunFrom: Phase | null, params: Json, now: number): void {
    this.sql.exec(
      "UPDATE run SET status = 'running', reason = NULL, finished_at = NULL, phase = ?, generation = ?, rerun_from = ?, params = ?, reopened_at = ?",
      phase,
      generation,
      rerunFrom,
      JSON.stringify(params),
      now,
    );
    this.phaseStarted(phase, now);
  }

  phaseFinished(phase: Phase, now: number): void {
    this.sql.exec("UPDATE phases SET finished_at = ? WHERE phase = ? AND finished_at IS NULL", now, phase);
  }

  phaseTimes(): Map<Phase, { startedAt: number | null; finishedAt: number | null }> {
    const rows = this.sql.exec("SELECT phase, started_at, finished_at FROM phases").toArray();
    return new Map(rows.map((r) => [String(r.phase) as Phase, { startedAt: num(r.started_at), finishedAt: num(r.finished_at) }]));
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
    for (const seq of seqs)
      this.sql.exec("UPDATE tasks SET status = 'pending', enqueued_at = NULL, attempts = attempts - 1 WHERE seq = ? AND status = 'running'", seq);
  }

  running(): number {
    return Number(this.sql.exec("SELECT count(*) AS n FROM tasks WHERE status = 'running'").one().n);
  }

  /** Running tasks enqueued before `before`: their message may be lost. */
  stale(before: number, limit: number): TaskRow[] {
    return this.sql.exec("SELECT * FROM tasks WHERE status = 'running' AND enqueued_at < ? ORDER BY seq LIMIT ?", before, limit).toArray().map(toTask);
  }

  /** A running task waits for rate-limit budget until `until`: it is not stale before then. */
  waitUntil(id: string, until: number): void {
    this.sql.exec("UPDATE tasks SET enqueued_at = max(coalesce(enqueued_at, 0), ?) WHERE id = ? AND status = 'running'", until, id);
  }

  touch(seq: number, now: number): void {
    this.sql.exec("UPDATE tasks SET enqueued_at = ?, attempts = attempts + 1 WHERE seq = ?", now, seq);
  }

  /** A task's result from a consumer. */
  recordResult(
    seq: number,
    status: "succeeded" | "failed" | "dead",
    r: {
      output?: OutputFile;
      badRows?: number;
      profile?: Json;
      deadItems?: DeadItem[];
      error?: TaskError;
      attempts: number;
      startedAt: number;
      finishedAt: number;
    },
  ): void {
    if (r.deadItems?.length)
      this.sql.exec("UPDATE tasks SET dead_items = ?, dead_item_count = ? WHERE seq = ?", JSON.stringify(r.deadItems), r.deadItems.length, seq);
    this.sql.exec(
      "UPDATE tasks SET status = ?, output = ?, bad_rows = ?, profile = ?, error = ?, attempts = max(attempts, ?), started_at = ?, finished_at = ? WHERE seq = ?",
      status,
      r.output ? JSON.stringify(r.output) : null,
      r.badRows ?? 0,
      r.profile === undefined ? null : JSON.stringify(r.profile),
      r.error ? JSON.stringify(r.error) : null,
      r.attempts,
      r.startedAt,
      r.finishedAt,
      seq,
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
    return this.sql
      .exec(sql, ...args, filter.limit ?? 1_000_000)
      .toArray()
      .map(toTask);
  }

  /** Tasks that are the latest of their batch in their phase and ended with `status`. */
  latest(status: "failed" | "dead" | "succeeded" | "cancelled", phase?: Phase): TaskRow[] {
    const rows = this.sql
      .exec(`SELECT * FROM latest_tasks WHERE status = ? ${phase ? "AND phase = ?" : ""} ORDER BY seq`, ...(phase ? [status, phase] : [status]))
      .toArray();
    return rows.map(toTask);
  }

  /** Batches with a succeeded or still open task in `phase` (of `generation`, if given): not to be planned again. */
  takenBatches(phase: Phase, generation?: number): Set<string> {
    const rows = this.sql
      .exec(
        `SELECT DISTINCT batch_id FROM tasks WHERE phase = ? AND status IN ('pending', 'running', 'succeeded') ${generation === undefined ? "" : "AND generation = ?"}`,
        ...(generation === undefined ? [phase] : [phase, generation]),
      )
      .toArray();
    return new Set(rows.map((r) => String(r.batch_id)));
  }

  /** Add what was spent to a phase's usage. */
  addUsage(phase: Phase, spent: Partial<Usage>): void {
    const row = this.sql.exec("SELECT data FROM usage WHERE phase = ?", phase).toArray()[0];
    const sum = addUsage(usageFrom(row ? JSON.parse(String(row.data)) : null), spent);
    this.sql.exec("INSERT INTO usage (phase, data) VALUES (?, ?) ON CONFLICT (phase) DO UPDATE SET data = excluded.data", phase, JSON.stringify(sum));
  }

  /** One more call from a consumer with results (for the calls-per-task figure). */
  countReport(): void {
    this.sql.exec("UPDATE run SET report_calls = report_calls + 1");
  }

  /** Tasks beyond the first per batch and phase (retry passes, redrives, re-runs), for progress. */
  extraTasks(): number {
    return Number(this.sql.exec("SELECT count(*) AS n FROM tasks WHERE (batch_id IS NOT NULL AND grp != 'initial') OR generation > 1").one().n);
  }

  maxMergeLevel(generation: number): number {
    return Number(
      this.sql
        .exec(
          "SELECT coalesce(max(json_extract(input, '$.level')), 0) AS n FROM tasks WHERE phase = 'aggregate' AND json_extract(input, '$.generation') = ?",
          generation,
        )
        .one().n,
    );
  }

  mergeTasks(generation: number, level: number): TaskRow[] {
    return this.sql
      .exec(
        "SELECT * FROM tasks WHERE phase = 'aggregate' AND json_extract(input, '$.generation') = ? AND json_extract(input, '$.level') = ? ORDER BY seq",
        generation,
        level,
      )
      .toArray()
      .map(toTask);
  }
}
