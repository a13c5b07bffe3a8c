// The dashboard: server-rendered HTML, readable without JavaScript, refreshing itself (a meta
// refresh) while a run is live. Pipelines and runs at `/`, one run at `/runs/:id`.
import { sustainedPerSecond } from "../upstream/limits";
import { Hono } from "hono";
import { html } from "hono/html";
import { isRunId } from "../ids";
import type { Api } from "../http/context";
import { coordinatorStub } from "../../durable-objects/rpc/coordinator";
import { registryStub } from "../../durable-objects/rpc/registry";
import type { PhaseCounts, RunSummary, RunView, TaskStatus } from "../types";
import { PHASES } from "../types";
import { costOf, formatDollars as dollars } from "../costs/usage";
import { live, ms, page, when, type Html } from "./html";

function bar(done: number, total: number, failing = false): Html {
  const pct = total === 0 ? 0 : Math.round((done / total) * 100);
  return html`<span class="bar" title="${done}/${total}"><span class="${failing ? "failing" : ""}" style="width:${pct}%"></span></span> ${done}/${total}`;
}

function phaseBar(c: PhaseCounts): Html {
  return bar(c.succeeded + c.failed + c.dead + c.split + c.cancelled, c.total, c.failed + c.dead > 0);
}

/** One small bar per phase: the home page's view of where a run is. */
function phaseStrip(run: RunView | undefined): Html {
  if (!run) return html``;
  return html`${PHASES.filter((p) => p !== "quality").map((p) => {
    const c = run.phases[p];
    const settled = c.succeeded + c.failed + c.dead + c.split + c.cancelled;
    const pct = c.total === 0 ? 0 : Math.round((settled / c.total) * 100);
    return html`<span class="mini" title="${p} ${settled}/${c.total}"
      ><span class="${c.failed + c.dead > 0 ? "failing" : ""}" style="width:${pct}%"></span
    ></span>`;
  })}`;
}

function eta(run: RunView | RunSummary, now: number): string {
  if (!live(run.status) || !run.startedAt || run.progress.done === 0) return "";
  const perTask = (now - run.startedAt) / run.progress.done;
  return ms(Math.round(perTask * (run.progress.total - run.progress.done)));
}

/** Request rate over time (ingest tasks finished per second) against the upstream's limit. */
/** Ingest tasks finished per second against the limit, from at most 240 buckets counted in SQL. */
function rateChart(rate: { start: number; bucketMs: number; counts: number[] } | null, limit: number): Html {
  if (!rate) return html`<p>No requests yet.</p>`;
  const perSecond = rate.counts.map((n) => n / (rate.bucketMs / 1000));
  const top = perSecond.reduce((a, b) => Math.max(a, b), limit * 1.25);
  const w = 720;
  const h = 160;
  const n = perSecond.length;
  const x = (i: number) => (n === 1 ? 0 : (i / (n - 1)) * w);
  const y = (v: number) => h - (v / top) * h;
  const points = perSecond.map((c, i) => `${x(i).toFixed(1)},${y(c).toFixed(1)}`).join(" ");
  const spanS = Math.round((n * rate.bucketMs) / 1000);
  return html`<svg role="img" aria-label="requests per second against the limit" width="${w}" height="${h + 20}" viewBox="0 -4 ${w} ${h + 24}">
    <line x1="0" x2="${w}" y1="${y(limit)}" y2="${y(limit)}" stroke="#c53030" stroke-dasharray="6 4" />
    <text x="4" y="${y(limit) - 4}" fill="#c53030" font-size="11">limit ${limit.toFixed(limit < 10 ? 2 : 0)}/s</text>
    <polyline fill="none" stroke="#2b6cb0" stroke-width="1.5" points="${points}" />
    <text x="4" y="${h + 16}" font-size="11" fill="#52606d">0 s</text>
    <text x="${w - 120}" y="${h + 16}" font-size="11" fill="#52606d">${spanS} s (${rate.bucketMs / 1000} s a point)</text>
  </svg>`;
}

export const dashboard = new Hono<Api>()
  .get("/", async (c) => {
    const now = Date.now();
    const catalog = c.var.catalog.runnable(c.env);
    const states = await Promise.all(catalog.map((p) => registryStub(c.env, p.name).state(p.name)));
    const pages = await Promise.all(catalog.map((p) => registryStub(c.env, p.name).list({ limit: 30 })));
    const runs = pages
      .flatMap((p) => p.runs)
      .sort((a, b) => b.createdAt - a.createdAt)
      .slice(0, 30);
    const views = new Map((await Promise.all(runs.map((r) => coordinatorStub(c.env, r.id).view()))).flatMap((v) => (v ? [[v.id, v] as const] : [])));
    const body = html`<h1>sluice <small>batch pipelines</small></h1>
      <h2>Pipelines</h2>
      <table>
        <tr>
          <th>Pipeline</th>
          <th>Schedules</th>
          <th>State</th>
          <th>Running</th>
          <th>Queued</th>
        </tr>
        ${states.map(
          (s) =>
            html`<tr>
              <td><strong>${s.name}</strong></td>
              <td>
                ${s.schedules.map((sc) => html`<div><code>${sc.cron}</code> ${sc.name} (${sc.window}) · next ${sc.nextFiring?.slice(0, 16).replace("T", " ") ?? "-"}</div>`)}
              </td>
              <td>${s.paused ? html`<span class="status failed">paused</span>` : "active"}</td>
              <td>${s.running.length}</td>
              <td>${s.queued.length}</td>
            </tr>`,
        )}
      </table>
      <h2>Runs</h2>
      <table>
        <tr>
          <th>Run</th>
          <th>Status</th>
          <th>Progress</th>
          <th>Phases</th>
          <th>Rows</th>
          <th>Elapsed</th>
          <th>ETA</th>
          <th>Cost</th>
        </tr>
        ${runs.map(
          (r) =>
            html`<tr>
              <td><a href="/runs/${r.id}">${r.id}</a></td>
              <td><span class="status ${r.status}">${r.status}</span> ${r.phase && live(r.status) ? r.phase : ""}</td>
              <td>${bar(r.progress?.done ?? 0, r.progress?.total ?? 0)}</td>
              <td class="phases">${phaseStrip(views.get(r.id))}</td>
              <td>${r.output?.rows ?? ""}</td>
              <td>${r.startedAt ? ms((r.finishedAt ?? now) - r.startedAt) : ""}</td>
              <td>${eta(r, now)}</td>
              <td>${dollars(views.get(r.id)?.usage.cost.dollars)}</td>
            </tr>`,
        )}
      </table>`;
    return c.html(
      page(
        "Runs",
        body,
        runs.some((r) => live(r.status)),
      ),
    );
  })
  .get("/runs/:id", async (c) => {
    const id = c.req.param("id");
    if (!isRunId(id)) return c.html(page("Not found", html`<h1>No such run</h1>`, false), 404);
    const stub = coordinatorStub(c.env, id);
    const run = await stub.view();
    if (!run) return c.html(page("Not found", html`<h1>No run ${id}</h1>`, false), 404);
    const now = Date.now();
    const filter = c.req.query("status");
    const status = filter && ["failed", "dead", "split", "succeeded", "running", "pending", "cancelled"].includes(filter) ? (filter as TaskStatus) : undefined;
    const [tasks, rate] = await Promise.all([stub.tasks({ status, limit: 200 }), stub.ingestRate(240)]);
    const declared = c.var.catalog.find(run.pipeline);
    const limit = declared ? sustainedPerSecond(c.var.catalog.deployed(c.env, declared).source.rateLimit) : 0;
    const body = html`<h1>${run.id}</h1>
      <p>
        <span class="status ${run.status}">${run.status}</span> ${run.reason ? html`— <span class="err">${run.reason}</span>` : ""} · pipeline ${run.pipeline} ·
        version ${run.version ?? "-"} · ${run.batches} batches · ${run.progress.done}/${run.progress.total} tasks (${run.progress.percent}%)
        ${run.badRows > 0 ? html` · ${run.badRows} bad rows` : ""} ${run.duplicateRows > 0 ? html` · ${run.duplicateRows} duplicate rows dropped` : ""}
        ${run.duplicateIds > 0 ? html` · ${run.duplicateIds} repeated ids planned once` : ""} · started ${when(run.startedAt)}
        ${run.startedAt ? html` · elapsed ${ms((run.finishedAt ?? now) - run.startedAt)}` : ""} ${eta(run, now) ? html` · ETA ${eta(run, now)}` : ""}
      </p>
      <p>
        <a href="/v1/jobs/${run.id}/manifest">Run manifest</a> ·
        ${run.published ? html`<a href="/v1/jobs/${run.id}/output">Download output</a> (${run.published.rows} rows, <code>${run.published.key}</code>, passed quality)` : "No output that passed quality to download"}
      </p>
      <h2>Phases</h2>
      <table>
        <tr>
          <th>Phase</th>
          <th>Progress</th>
          <th>Failed</th>
          <th>Dead</th>
          <th>Time</th>
          <th>Cost</th>
        </tr>
        ${PHASES.map(
          (p) =>
            html`<tr>
              <td>${p}</td>
              <td>${phaseBar(run.phases[p])}</td>
              <td>${run.phases[p].failed}</td>
              <td>${run.phases[p].dead}${run.phases[p].split ? ` (${run.phases[p].split} split)` : ""}</td>
              <td>${run.phases[p].startedAt ? ms((run.phases[p].finishedAt ?? now) - run.phases[p].startedAt!) : ""}</td>
              <td>${run.usage.phases[p] ? dollars(costOf(run.usage.phases[p]).dollars) : ""}</td>
            </tr>`,
        )}
      </table>
      <h2>Cost</h2>
      <p>
        ${dollars(run.usage.cost.dollars)} at Cloudflare's published prices (checked ${run.usage.cost.prices.checked}), before the plan's monthly included
        amounts; keeping what it wrote in R2 costs ${dollars(run.usage.cost.storagePerMonth)} a month.
      </p>
      <table>
        <tr>
          <th>Item</th>
          <th>Units</th>
          <th>Cost</th>
        </tr>
        ${run.usage.cost.lines.map(
          (l) =>
            html`<tr>
              <td>${l.item}</td>
              <td>${Math.round(l.units).toLocaleString("en-US")} ${l.unit}</td>
              <td>${dollars(l.dollars)}</td>
            </tr>`,
        )}
      </table>
      <h2>Request rate</h2>
      ${rateChart(rate, limit)}
      <h2>Tasks</h2>
      <p>
        Show: <a href="?">all</a> · <a href="?status=failed">failed</a> · <a href="?status=dead">dead</a> · <a href="?status=split">split</a> ·
        <a href="?status=running">running</a>
      </p>
      <table>
        <tr>
          <th>Task</th>
          <th>Group</th>
          <th>Status</th>
          <th>Attempts</th>
          <th>Rows</th>
          <th>Error</th>
        </tr>
        ${tasks.tasks.map(
          (t) =>
            html`<tr>
              <td><code>${t.id}</code></td>
              <td>${t.group}</td>
              <td><span class="status ${t.status}">${t.status}</span></td>
              <td>${t.attempts}</td>
              <td>${t.rows ?? ""}</td>
              <td class="err">${t.error ? `${t.error.type}: ${t.error.message}` : ""}</td>
            </tr>`,
        )}
      </table>`;
    return c.html(page(run.id, body, live(run.status)));
  });
