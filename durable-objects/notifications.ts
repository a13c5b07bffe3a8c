// Notifications when a run ends (or a flow's run, or its step): stored first, delivered with
// retries from the owner's alarm. A webhook is signed (HMAC-SHA256 of the timestamp and body) and
// carries credentials where the pipeline says so; an email goes through the send_email binding
// SLUICE_EMAIL, or is recorded (composed, not sent) where none is bound, as in local runs. One
// that keeps failing is given up after MAX_ATTEMPTS; it never changes the run. Only secrets'
// names are stored; their values are read at each delivery.
import type { Env } from "../src/env";
import type { Notify } from "../src/pipelines/define";
import { authHeaders, fetchUpstream } from "../src/upstream/fetch";

const MAX_ATTEMPTS = 6;
const TIMEOUT_MS = 10_000;

/** An email as composed for the binding (and kept, sent or recorded, for the notifications list). */
export interface ComposedEmail {
  from: string;
  to: string[];
  subject: string;
  text: string;
}

/** Subject and text of an event's email, from its JSON body (a run's, or a flow run's). */
export function composeEmail(from: string, to: string[], body: string): ComposedEmail {
  const event = JSON.parse(body) as Record<string, unknown>;
  const run = (event.run ?? {}) as Record<string, unknown>;
  const what =
    typeof event.flow === "string"
      ? `flow ${event.flow} run ${String(run.id)}${event.step ? `, step ${String(event.step)}` : ""}`
      : `run ${String(event.runId)} of ${String(event.pipeline)}`;
  const reason = event.reason ?? run.reason;
  const lines = [
    `${what}: ${String(event.event)}`,
    ...(reason ? [`Reason: ${String(reason)}`] : []),
    ...(Array.isArray(event.warnings) ? [`Checks that warned: ${event.warnings.join(", ")}`] : []),
    ...Object.entries((event.links ?? {}) as Record<string, string>).map(([k, v]) => `${k}: ${v}`),
    "",
    body,
  ];
  return { from, to, subject: `[sluice] ${what}: ${String(event.event)}`, text: lines.join("\n") };
}

export interface Notification {
  seq: number;
  url: string;
  body: string;
  attempts: number;
  nextAt: number;
}

/** A Worker secret's value by name; throws naming it when it is not set. */
function secretValue(env: Env, name: string): string {
  const value = (env as unknown as Record<string, unknown>)[name];
  if (typeof value !== "string" || value === "") throw new Error(`the secret ${name} is not set: wrangler secret put ${name}`);
  return value;
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`: what a receiver recomputes. */
export async function signature(secret: string, body: string, now: number): Promise<string> {
  const t = Math.floor(now / 1000);
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${t}.${body}`)));
  return `t=${t},v1=${Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export class Notifier {
  constructor(
    private readonly sql: SqlStorage,
    private readonly env: Env,
  ) {
    sql.exec(`CREATE TABLE IF NOT EXISTS notifications (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT NOT NULL, body TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
      next_at INTEGER NOT NULL, status TEXT NOT NULL DEFAULT 'pending', last_error TEXT)`);
    const columns = sql
      .exec("SELECT name FROM pragma_table_info('notifications')")
      .toArray()
      .map((r) => String(r.name));
    if (!columns.includes("signing")) sql.exec("ALTER TABLE notifications ADD COLUMN signing TEXT");
    if (!columns.includes("message")) sql.exec("ALTER TABLE notifications ADD COLUMN message TEXT");
  }

  /** Store one delivery of `body` to the target: a webhook's url, or `mailto:<to,…>` with the sender kept beside it. */
  add(notify: Omit<Notify, "on">, body: unknown, now: number): void {
    const email = notify.email;
    const url = email ? `mailto:${(Array.isArray(email.to) ? email.to : [email.to]).join(",")}` : notify.url!;
    const signing =
      email || notify.signingSecret || notify.auth
        ? JSON.stringify({ secret: notify.signingSecret ?? null, auth: notify.auth ?? null, from: email?.from ?? null })
        : null;
    this.sql.exec("INSERT INTO notifications (url, body, next_at, signing) VALUES (?, ?, ?, ?)", url, JSON.stringify(body), now, signing);
  }

  /** Send an email through the binding, or record it where none is bound; the message is kept either way. */
  private async email(seq: number, url: string, signing: unknown, body: string): Promise<"delivered" | "recorded"> {
    const { from } = JSON.parse(String(signing)) as { from: string };
    const message = composeEmail(from, url.slice("mailto:".length).split(","), body);
    this.sql.exec("UPDATE notifications SET message = ? WHERE seq = ?", JSON.stringify(message), seq);
    if (!this.env.SLUICE_EMAIL) {
      console.log(`email (recorded, SLUICE_EMAIL is not bound) to ${message.to.join(", ")}: ${message.subject}`);
      return "recorded";
    }
    await this.env.SLUICE_EMAIL.send({ from: message.from, to: message.to, subject: message.subject, text: message.text });
    return "delivered";
  }

  /** The headers of one delivery at `now`: its signature and credentials, read from the secrets named. */
  private async headers(signing: unknown, body: string, now: number): Promise<Record<string, string>> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (typeof signing !== "string") return headers;
    const { secret, auth } = JSON.parse(signing) as { secret: string | null; auth: Notify["auth"] | null };
    if (auth) Object.assign(headers, authHeaders(this.env, auth));
    if (secret) headers["sluice-signature"] = await signature(secretValue(this.env, secret), body, now);
    return headers;
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
      let done: "delivered" | "recorded" = "delivered";
      try {
        if (String(r.url).startsWith("mailto:")) done = await this.email(seq, String(r.url), r.signing, String(r.body));
        else {
          const res = await fetchUpstream(this.env, String(r.url), {
            method: "POST",
            body: String(r.body),
            headers: await this.headers(r.signing, String(r.body), now),
            timeoutMs: TIMEOUT_MS,
          });
          await res.body?.cancel();
          if (!res.ok) error = `webhook answered ${res.status}`;
        }
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
      }
      const status = error === null ? done : attempts >= MAX_ATTEMPTS ? "given_up" : "pending";
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

  list(): { url: string; attempts: number; status: string; lastError: string | null; email: ComposedEmail | null }[] {
    return this.sql
      .exec("SELECT url, attempts, status, last_error, message FROM notifications ORDER BY seq")
      .toArray()
      .map((r) => ({
        url: String(r.url),
        attempts: Number(r.attempts),
        status: String(r.status),
        lastError: r.last_error === null ? null : String(r.last_error),
        email: r.message === null ? null : (JSON.parse(String(r.message)) as ComposedEmail),
      }));
  }
}
