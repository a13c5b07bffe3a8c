// The run coordinator's plan in SQLite: its batches, the ids a streamed plan has seen, a
// failing batch split into pieces, and the task rows they start. CoordinatorStore builds on it.
import type { BatchSpec, Phase, TaskInput } from "../../src/types";
import type { TaskRow } from "./schema";
import { RunTallies } from "./tallies";

/** The ids a plan has seen, a table per scope: forgetting them drops the table (deleting a million rows would write a million). */
const KEY_TABLES = { plan: "plan_keys", check: "check_keys" } as const;
const keyTable = (name: string) => `CREATE TABLE IF NOT EXISTS ${name} (scope TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (scope, key)) WITHOUT ROWID`;

export class PlanTables extends RunTallies {
  /** False the first time `key` is seen in `scope` ('plan': this run's plan, counted as a duplicate id after). */
  firstSeen(scope: "plan" | "check", key: string): boolean {
    if (this.sql.exec(`INSERT INTO ${KEY_TABLES[scope]} (scope, key) VALUES (?, ?) ON CONFLICT DO NOTHING`, scope, key).rowsWritten > 0) return true;
    if (scope === "plan") this.sql.exec("UPDATE run SET duplicate_ids = duplicate_ids + 1");
    return false;
  }

  /** Forget the keys seen in `scope`. */
  forgetKeys(scope: "plan" | "check"): void {
    this.sql.exec(`DROP TABLE IF EXISTS ${KEY_TABLES[scope]}`);
    this.sql.exec(keyTable(KEY_TABLES[scope]));
  }

  /** The plan is complete: the run may begin. */
  planComplete(): void {
    this.sql.exec("UPDATE run SET planned = 1");
    this.forgetKeys("plan");
  }

  /** Planning was cut short (a reset): drop what was stored of it, to plan again from the start. */
  clearPlan(): void {
    this.sql.exec("DELETE FROM tasks");
    this.sql.exec("DELETE FROM batches");
    this.forgetKeys("plan");
    this.sql.exec("UPDATE run SET batches = 0, duplicate_ids = 0, planned = 0");
  }

  /** Store planned batches and their ingest tasks; returns the run's batch count. */
  addBatches(batches: readonly BatchSpec[]): number {
    for (const b of batches) {
      this.sql.exec("INSERT INTO batches (id, partition, data) VALUES (?, ?, ?)", b.id, b.partition, JSON.stringify(b.data));
      this.insertTask(`ingest-${b.id}`, "ingest", "initial", b.id, 1, { kind: "ingest", batch: b });
    }
    this.sql.exec("UPDATE run SET batches = batches + ?", batches.length);
    return Number(this.sql.exec("SELECT batches FROM run").one().batches);
  }

  /**
   * A batch whose ingest failed for good is cut into `pieces` (bisect on error): its task is
   * marked `split`, each piece is a new batch with an ingest task in the task's group. The run
   * counts the pieces in place of the batch. Returns the new tasks' ids.
   */
  splitBatch(task: TaskRow, pieces: readonly BatchSpec[]): string[] {
    this.sql.exec("UPDATE tasks SET status = 'split' WHERE seq = ? AND status = 'dead'", task.seq);
    const ids: string[] = [];
    for (const b of pieces) {
      this.sql.exec("INSERT INTO batches (id, partition, data) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING", b.id, b.partition, JSON.stringify(b.data));
      const id = `ingest-${b.id}${task.generation > 1 ? `-g${task.generation}` : ""}`;
      this.insertTask(id, "ingest", task.group, b.id, task.generation, { kind: "ingest", batch: b });
      ids.push(id);
    }
    this.sql.exec("UPDATE run SET batches = batches + ?", pieces.length - 1);
    return ids;
  }

  /** One batch's spec (the quality phase looks them up one at a time: a run may have 20,000). */
  batchSpec(id: string): BatchSpec | null {
    const r = this.sql.exec("SELECT id, partition, data FROM batches WHERE id = ?", id).toArray()[0];
    return r ? { id: String(r.id), partition: String(r.partition), data: JSON.parse(String(r.data)) as BatchSpec["data"] } : null;
  }

  /** The batches' partitions in plan order, read lazily from a cursor. */
  *batchPartitions(): Generator<string> {
    for (const r of this.sql.exec("SELECT partition FROM batches ORDER BY id")) yield String(r.partition);
  }

  insertTask(id: string, phase: Phase, group: string, batchId: string | null, generation: number, input: TaskInput): void {
    this.sql.exec(
      "INSERT INTO tasks (id, phase, grp, batch_id, generation, status, input) VALUES (?, ?, ?, ?, ?, 'pending', ?) ON CONFLICT (id) DO NOTHING",
      id,
      phase,
      group,
      batchId,
      generation,
      JSON.stringify(input),
    );
  }
}
