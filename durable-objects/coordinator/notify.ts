// Webhooks when a run ends: stored first, delivered with retries from the coordinator's alarm.
// A webhook that keeps failing is given up after MAX_ATTEMPTS; it never changes the run.
import type { Env } from "../../src/env";
import { fetchUpstream } from "../../src/upstream/fetch";

const MAX_ATTEMPTS = 6;
const TIMEOUT_MS = 10_000;

export interface Notification {
  seq: number;
  url: string;
  body: string;
  attempts: number;
  nextAt: number;
}

export class Notifier {
  constructor(
    private readonly sql: SqlStorage,
    private readonly env: Env,
  ) {
    sql.exec(`CREATE TABLE IF NOT EXISTS notifications (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT NOT NULL, body TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
      next_at INTEGER NOT NULL, status TEXT NOT NULL DEFAULT 'pending', last_error TEXT)`);
  }

  add(url: string, body: unknown, now: number): void {
    this.sql.exec("INSERT INTO notifications (url, body, next_at) VALUES (?, ?, ?)", url, JSON.stringify(body), now);
  }

  /** When the next delivery is due, if any. */
  nextDue(): number | null {
    const r = this.sql.exec("SELECT min(next_at) AS at FROM notifications WHERE status = 'pending'").one();
    return r.at === null ? null : Number(r.at);
  }

  /** Deliver what is due; failures wait 2^attempts seconds. */
  async deliver(now: number): Promise<void> {
    const due = this.sql.exec("SELECT * FROM notifications WHERE status = 'pending' AND next_at <= ? ORDER BY seq", now).toArray();
    for (const r of due) {
      const seq = Number(r.seq);
      const attempts = Number(r.attempts) + 1;
      let error: string | null = null;
      try {
        const res = await fetchUpstream(this.env, String(r.url), {
          method: "POST",
          body: String(r.body),
          headers: { "content-type": "application/json" },
          timeoutMs: TIMEOUT_MS,
        });
        await res.body?.cancel();
        if (!res.ok) error = `webhook answered ${res.status}`;
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
      }
      const status = error === null ? "delivered" : attempts >= MAX_ATTEMPTS ? "given_up" : "pending";
      this.sql.exec(
        "UPDATE notifications SET attempts = ?, status = ?, last_error = ?, next_at = ? WHERE seq = ?",
        attempts,
        status,
        error,
        now + 2 ** attempts * 1000,
        seq,
      );
      if (error) console.warn(`webhook ${String(r.url)} attempt ${attempts}: ${error}${status === "given_up" ? " (given up)" : ""}`);
    }
  }

  list(): { url: string; attempts: number; status: string; lastError: string | null }[] {
    return this.sql
      .exec("SELECT url, attempts, status, last_error FROM notifications ORDER BY seq")
      .toArray()
      .map((r) => ({
        url: String(r.url),
        attempts: Number(r.attempts),
        status: String(r.status),
        lastError: r.last_error === null ? null : String(r.last_error),
      }));
  }
}
