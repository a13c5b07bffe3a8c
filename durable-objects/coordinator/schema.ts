// The run coordinator's tables and the typed rows read from them.
import type { RunWindow } from "../../src/pipelines/windows";
import type { QualityReport } from "../../src/quality/evaluate";
import type { Json, OutputFile, OutputVersion, Phase, RunOptions, RunStatus, TaskError, TaskInput, TaskStatus, TaskView } from "../../src/types";

export const DDL = `
CREATE TABLE IF NOT EXISTS run (
  id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, params TEXT NOT NULL, options TEXT NOT NULL,
  status TEXT NOT NULL, phase TEXT, batches INTEGER NOT NULL, generation INTEGER NOT NULL DEFAULT 1,
  window TEXT NOT NULL, version_n INTEGER, rerun_from TEXT, kind TEXT NOT NULL DEFAULT 'run', dataset TEXT,
  report_calls INTEGER NOT NULL DEFAULT 0, settled INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER, reason TEXT, output TEXT, quality TEXT,
  reopened_at INTEGER, published TEXT, planned INTEGER NOT NULL DEFAULT 1, duplicate_ids INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS batches (id TEXT PRIMARY KEY, partition TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, phase TEXT NOT NULL, grp TEXT NOT NULL,
  batch_id TEXT, generation INTEGER NOT NULL DEFAULT 1, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
  input TEXT NOT NULL, output TEXT, bad_rows INTEGER NOT NULL DEFAULT 0, profile TEXT, error TEXT, enqueued_at INTEGER,
  dead_items TEXT, dead_item_count INTEGER NOT NULL DEFAULT 0,
  started_at INTEGER, finished_at INTEGER
);
CREATE INDEX IF NOT EXISTS tasks_by_phase_status ON tasks (phase, status);
CREATE INDEX IF NOT EXISTS tasks_by_phase_batch ON tasks (phase, batch_id, seq);
CREATE INDEX IF NOT EXISTS tasks_by_status ON tasks (status, seq);
CREATE VIEW IF NOT EXISTS latest_tasks AS
  SELECT * FROM tasks t WHERE batch_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM tasks u WHERE u.phase = t.phase AND u.batch_id = t.batch_id AND u.seq > t.seq);
CREATE TABLE IF NOT EXISTS plan_keys (scope TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (scope, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS check_keys (scope TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (scope, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS phases (phase TEXT PRIMARY KEY, started_at INTEGER, finished_at INTEGER, retry_passes INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS usage (phase TEXT PRIMARY KEY, data TEXT NOT NULL);
`;

export interface RunRow {
  id: string;
  pipeline: string;
  params: Json;
  options: RunOptions;
  status: RunStatus;
  phase: Phase | null;
  batches: number;
  generation: number;
  window: RunWindow;
  /** The version the current generation writes, once allocated. */
  version: OutputVersion | null;
  /** Phases from this one on are recomputed in the current generation; null: reuse what succeeded. */
  rerunFrom: Phase | null;
  quality: QualityReport | null;
  /** `run`, or `compaction`: a merge of other runs' outputs into `dataset`. */
  kind: "run" | "compaction";
  dataset: string;
  createdAt: number;
  startedAt: number | null;
  /** When a redrive or re-run last opened the finished run again: its run deadline counts from here. */
  reopenedAt: number | null;
  finishedAt: number | null;
  /** False between the end of a run and its manifest and registry summary being written. */
  settled: boolean;
  reason: string | null;
  output: OutputFile | null;
  /** The latest output that passed quality: the one served. */
  published: OutputFile | null;
  /** Every batch of the plan is stored (false while planning, or after a reset cut planning short). */
  planned: boolean;
  /** Ids the plan listed more than once (each planned once). */
  duplicateIds: number;
}

export interface TaskRow extends TaskView {
  seq: number;
  generation: number;
  input: TaskInput;
  output: OutputFile | null;
  badRows: number;
  profile: Json | null;
  enqueuedAt: number | null;
}

export type SqlRow = Record<string, SqlStorageValue>;

export const num = (v: SqlStorageValue | undefined): number | null => (v === null || v === undefined ? null : Number(v));
export const str = (v: SqlStorageValue | undefined): string | null => (v === null || v === undefined ? null : String(v));
export const parsed = <T>(v: SqlStorageValue | undefined): T | null => (v === null || v === undefined ? null : (JSON.parse(String(v)) as T));

export function toTask(r: SqlRow): TaskRow {
  const output = parsed<OutputFile>(r.output);
  return {
    seq: Number(r.seq),
    generation: Number(r.generation),
    profile: parsed<Json>(r.profile),
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
