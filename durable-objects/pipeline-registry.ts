// The pipeline registry: one Durable Object per pipeline, holding the index of its runs
// (newest first, by status). The coordinators record every run's summary here.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../src/env";
import type { RunStatus, RunSummary } from "../src/types";

export interface RunPage {
  runs: RunSummary[];
  /** Pass as `before` for the next page. */
  next: string | null;
}

export class PipelineRegistry extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS runs (
      id TEXT PRIMARY KEY, status TEXT NOT NULL, created_at INTEGER NOT NULL, summary TEXT NOT NULL
    ); CREATE INDEX IF NOT EXISTS runs_by_created ON runs (created_at DESC, id DESC);
    CREATE TABLE IF NOT EXISTS versions (window TEXT PRIMARY KEY, last INTEGER NOT NULL);`);
  }

  record(summary: RunSummary): void {
    this.ctx.storage.sql.exec(
      "INSERT INTO runs (id, status, created_at, summary) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET status = excluded.status, summary = excluded.summary",
      summary.id,
      summary.status,
      summary.createdAt,
      JSON.stringify(summary),
    );
  }

  /** The next version number of a window's outputs: 1, 2, … never reused. */
  allocateVersion(window: string): number {
    return Number(
      this.ctx.storage.sql
        .exec("INSERT INTO versions (window, last) VALUES (?, 1) ON CONFLICT (window) DO UPDATE SET last = last + 1 RETURNING last", window)
        .one().last,
    );
  }

  /** Newest first. `before` is the cursor of the previous page (`<createdAt>:<id>`). */
  list(filter: { status?: RunStatus; before?: string; limit: number }): RunPage {
    const where: string[] = [];
    const args: SqlStorageValue[] = [];
    if (filter.status) (where.push("status = ?"), args.push(filter.status));
    if (filter.before) {
      const at = filter.before.indexOf(":");
      where.push("(created_at < ? OR (created_at = ? AND id < ?))");
      const created = Number(filter.before.slice(0, at));
      args.push(created, created, filter.before.slice(at + 1));
    }
    const rows = this.ctx.storage.sql
      .exec(
        `SELECT summary FROM runs ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at DESC, id DESC LIMIT ?`,
        ...args,
        filter.limit + 1,
      )
      .toArray();
    const runs = rows.slice(0, filter.limit).map((r) => JSON.parse(String(r.summary)) as RunSummary);
    const last = runs[runs.length - 1];
    return { runs, next: rows.length > filter.limit && last ? `${last.createdAt}:${last.id}` : null };
  }
}
