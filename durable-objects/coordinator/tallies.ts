// What a run's task table adds up to: counts per phase and status, rows set aside (bad,
// duplicate), batches lost, dead items, the request rate over time, storage. Read-only queries
// for the run view, the manifest and the run page; the store that writes the tables extends it.
import type { DeadItem, Phase, PhaseCounts, TaskStatus, Usage } from "../../src/types";
import { PHASES } from "../../src/types";
import { usageFrom } from "../../src/costs/usage";

export class RunTallies {
  constructor(protected readonly sql: SqlStorage) {}

  /**
   * Ingest tasks finished over time, in at most `buckets` buckets of whole seconds, counted in
   * SQL: the run page's rate chart reads this, never the task rows themselves.
   */
  ingestRate(buckets: number): { start: number; bucketMs: number; counts: number[] } | null {
    const where = "phase = 'ingest' AND finished_at IS NOT NULL AND status != 'cancelled'";
    const span = this.sql.exec(`SELECT min(finished_at) AS a, max(finished_at) AS b, count(*) AS n FROM tasks WHERE ${where}`).one();
    if (Number(span.n) < 2) return null;
    const start = Number(span.a);
    const bucketMs = Math.max(1000, Math.ceil((Number(span.b) - start + 1) / buckets / 1000) * 1000);
    const counts = new Array<number>(Math.floor((Number(span.b) - start) / bucketMs) + 1).fill(0);
    for (const r of this.sql.exec(`SELECT (finished_at - ?) / ? AS b, count(*) AS n FROM tasks WHERE ${where} GROUP BY b`, start, bucketMs).toArray()) {
      counts[Number(r.b)] = Number(r.n);
    }
    return { start, bucketMs, counts };
  }

  counts(): Record<Phase, PhaseCounts> {
    const out = Object.fromEntries(
      PHASES.map((p) => [p, { pending: 0, running: 0, succeeded: 0, failed: 0, dead: 0, split: 0, cancelled: 0, total: 0 }]),
    ) as Record<Phase, PhaseCounts>;
    for (const r of this.sql.exec("SELECT phase, status, count(*) AS n FROM tasks GROUP BY phase, status").toArray()) {
      const c = out[String(r.phase) as Phase];
      if (!c) continue;
      c[String(r.status) as TaskStatus] += Number(r.n);
      c.total += Number(r.n);
    }
    return out;
  }

  /** Rows silver dropped as repeats of a key, over the latest silver task of each batch. */
  duplicateRows(): number {
    return Number(
      this.sql
        .exec(
          "SELECT coalesce(sum(json_extract(profile, '$.duplicates')), 0) AS n FROM latest_tasks WHERE phase = 'silver' AND status = 'succeeded' AND profile IS NOT NULL",
        )
        .one().n,
    );
  }

  badRows(): number {
    return Number(this.sql.exec("SELECT coalesce(sum(bad_rows), 0) AS n FROM tasks").one().n);
  }

  /** Batches missing from the output so far: their latest task in some phase is dead or failed. */
  lostBatches(): number {
    return Number(this.sql.exec("SELECT count(DISTINCT batch_id) AS n FROM latest_tasks WHERE status IN ('failed', 'dead')").one().n);
  }

  reportCalls(): number {
    return Number(this.sql.exec("SELECT report_calls AS n FROM run").one().n);
  }

  /** Items that were gone, in the latest ingest task of each batch. */
  deadItemCount(): number {
    return Number(this.sql.exec("SELECT coalesce(sum(dead_item_count), 0) AS n FROM latest_tasks WHERE phase = 'ingest' AND status = 'succeeded'").one().n);
  }

  deadItems(limit: number): (DeadItem & { taskId: string; batchId: string })[] {
    const rows = this.sql
      .exec("SELECT id, batch_id, dead_items FROM latest_tasks WHERE dead_items IS NOT NULL AND status = 'succeeded' ORDER BY seq")
      .toArray();
    return rows
      .flatMap((r) => (JSON.parse(String(r.dead_items)) as DeadItem[]).map((d) => ({ ...d, taskId: String(r.id), batchId: String(r.batch_id) })))
      .slice(0, limit);
  }

  /** What the run spent, per phase (src/costs/usage.ts). */
  usage(): Partial<Record<Phase, Usage>> {
    const rows = this.sql.exec("SELECT phase, data FROM usage").toArray();
    return Object.fromEntries(rows.map((r) => [String(r.phase), usageFrom(JSON.parse(String(r.data)))]));
  }

  storageBytes(): number {
    return this.sql.databaseSize;
  }
}
