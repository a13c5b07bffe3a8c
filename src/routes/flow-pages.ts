// The dashboard's flow pages: the flows and their schedules at /flows, one flow's runs at
// /flows/:flow, and one run at /flows/:flow/runs/:id as a graph of its steps (columns by depth,
// an arrow for each `after`), each step with its status, attempts and a link to its pipeline run.
import { Hono } from "hono";
import { html } from "hono/html";
import type { Api } from "../http/context";
import { isRunId } from "../ids";
import { TERMINAL_FLOW_STATUSES, type FlowStatus } from "../flows/define";
import { depths } from "../flows/graph";
import type { FlowRunView, FlowStepView } from "../flows/views";
import { flowStub } from "../../durable-objects/rpc/flow";
import { ms, page, when, type Html } from "./html";

const flowLive = (status: FlowStatus) => !TERMINAL_FLOW_STATUSES.includes(status);
const notFound = (what: string): Html => page("Not found", html`<h1>No ${what}</h1>`, false);

const BOX = { w: 190, h: 62, dx: 70, dy: 18 };
const COLOR: Record<string, string> = { succeeded: "#2f855a", failed: "#c53030", running: "#2b6cb0", retrying: "#2b6cb0" };

/** The steps as boxes in columns by depth, an arrow from each step to those that come after it. */
function stepGraph(steps: FlowStepView[]): Html {
  const depth = depths(steps);
  const rows = new Map<number, number>();
  const at = new Map<string, { x: number; y: number }>();
  for (const s of steps) {
    const d = depth.get(s.name)!;
    const row = rows.get(d) ?? 0;
    rows.set(d, row + 1);
    at.set(s.name, { x: d * (BOX.w + BOX.dx), y: row * (BOX.h + BOX.dy) });
  }
  const width = (Math.max(...depth.values()) + 1) * (BOX.w + BOX.dx) - BOX.dx;
  const height = Math.max(...rows.values()) * (BOX.h + BOX.dy) - BOX.dy;
  const arrows = steps.flatMap((s) =>
    s.after.map((a) => {
      const from = at.get(a)!;
      const to = at.get(s.name)!;
      return html`<line
        x1="${from.x + BOX.w}"
        y1="${from.y + BOX.h / 2}"
        x2="${to.x - 4}"
        y2="${to.y + BOX.h / 2}"
        stroke="#9aa5b1"
        marker-end="url(#arrow)"
      />`;
    }),
  );
  const boxes = steps.map((s) => {
    const { x, y } = at.get(s.name)!;
    const color = COLOR[s.status] ?? "#52606d";
    const label = html`<rect x="${x}" y="${y}" width="${BOX.w}" height="${BOX.h}" rx="6" fill="#fff" stroke="${color}" stroke-width="2" />
      <text x="${x + 10}" y="${y + 20}" font-size="13" font-weight="600" fill="#1d2733">${s.name}</text>
      <text x="${x + 10}" y="${y + 37}" font-size="12" fill="${color}">${s.status}${s.attempt > 1 ? ` · attempt ${s.attempt}` : ""}</text>
      <text x="${x + 10}" y="${y + 53}" font-size="11" fill="#52606d">${s.pipeline}</text>`;
    return s.runId ? html`<a href="/runs/${s.runId}">${label}</a>` : label;
  });
  return html`<svg role="img" aria-label="the flow's steps" width="${width + 8}" height="${height + 8}" viewBox="-2 -2 ${width + 8} ${height + 8}">
    <defs>
      <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto">
        <path d="M0,0 L10,5 L0,10 z" fill="#9aa5b1" />
      </marker>
    </defs>
    ${arrows} ${boxes}
  </svg>`;
}

/** One small mark per step: where a run is, in a list of runs. */
const stepStrip = (run: FlowRunView): Html =>
  html`${run.steps.map((s) => html`<span class="status ${s.status}" title="${s.name}: ${s.status}">${s.status === "succeeded" ? "●" : s.status === "waiting" ? "○" : "◐"}</span> `)}`;

function runsTable(flow: string, runs: FlowRunView[]): Html {
  const now = Date.now();
  return html`<table>
    <tr>
      <th>Run</th>
      <th>Window</th>
      <th>Status</th>
      <th>Steps</th>
      <th>Started</th>
      <th>Elapsed</th>
    </tr>
    ${runs.map(
      (r) =>
        html`<tr>
          <td><a href="/flows/${flow}/runs/${r.id}">${r.id}</a></td>
          <td>${r.window.from} → ${r.window.to}</td>
          <td><span class="status ${r.status}">${r.status}</span></td>
          <td>${stepStrip(r)}</td>
          <td>${when(r.startedAt)}</td>
          <td>${r.startedAt ? ms((r.finishedAt ?? now) - r.startedAt) : ""}</td>
        </tr>`,
    )}
  </table>`;
}

export const flowPages = new Hono<Api>()
  .get("/flows", async (c) => {
    const flows = c.var.catalog.runnableFlows(c.env);
    const states = await Promise.all(flows.map((f) => flowStub(c.env, f.name).state(f.name)));
    const body = html`<h1>Flows <small>steps that are pipeline runs, chained</small></h1>
      ${flows.length === 0 ? html`<p>No flow is declared here.</p>` : ""}
      <table>
        <tr>
          <th>Flow</th>
          <th>Steps</th>
          <th>Schedules</th>
          <th>Latest run</th>
        </tr>
        ${states.map(
          (s) =>
            html`<tr>
              <td>
                <a href="/flows/${s.name}"><strong>${s.name}</strong></a
                ><br />${s.description}
              </td>
              <td>${s.steps.map((st) => html`<div>${st.name}${st.after.length > 0 ? html` <small>after ${st.after.join(", ")}</small>` : ""}</div>`)}</td>
              <td>
                ${s.schedules.map(
                  (sc) =>
                    html`<div>
                      <code>${sc.cron}</code> ${sc.name} ·
                      ${sc.paused ? html`<span class="status failed">paused</span>` : `next ${sc.nextFiring?.slice(0, 16).replace("T", " ") ?? "-"}`}
                    </div>`,
                )}
              </td>
              <td>
                ${s.runs[0] ? html`<a href="/flows/${s.name}/runs/${s.runs[0].id}">${s.runs[0].id}</a> <span class="status ${s.runs[0].status}">${s.runs[0].status}</span>` : ""}
              </td>
            </tr>`,
        )}
      </table>`;
    return c.html(
      page(
        "Flows",
        body,
        states.some((s) => s.runs.some((r) => flowLive(r.status))),
      ),
    );
  })
  .get("/flows/:flow", async (c) => {
    const flow = c.var.catalog.runnableFlows(c.env).find((f) => f.name === c.req.param("flow"));
    if (!flow) return c.html(notFound(`flow ${c.req.param("flow")}`), 404);
    const state = await flowStub(c.env, flow.name).state(flow.name);
    const body = html`<h1>${flow.name}</h1>
      <p>
        ${flow.description} · timeout ${flow.timeoutMs === null ? "none" : ms(flow.timeoutMs)} · at most ${flow.maxConcurrentRuns}
        run${flow.maxConcurrentRuns > 1 ? "s" : ""} at once
      </p>
      <h2>Runs</h2>
      ${runsTable(flow.name, state.runs)}`;
    return c.html(
      page(
        flow.name,
        body,
        state.runs.some((r) => flowLive(r.status)),
      ),
    );
  })
  .get("/flows/:flow/runs/:id", async (c) => {
    const flow = c.var.catalog.runnableFlows(c.env).find((f) => f.name === c.req.param("flow"));
    const id = c.req.param("id");
    if (!flow || !isRunId(id)) return c.html(notFound("such flow run"), 404);
    const run = await flowStub(c.env, flow.name).view(flow.name, id);
    if (!run) return c.html(notFound(`run ${id} of ${flow.name}`), 404);
    const now = Date.now();
    const body = html`<h1>${run.id}</h1>
      <p>
        <span class="status ${run.status}">${run.status}</span> ${run.reason ? html`— <span class="err">${run.reason}</span>` : ""} · flow
        <a href="/flows/${flow.name}">${flow.name}</a> · window ${run.window.from} → ${run.window.to} ·
        ${run.trigger}${run.schedule ? ` (${run.schedule})` : ""} ${run.force ? " · full refresh" : ""} · started ${when(run.startedAt)}
        ${run.startedAt ? html` · elapsed ${ms((run.finishedAt ?? now) - run.startedAt)}` : ""}
      </p>
      ${stepGraph(run.steps)}
      <h2>Steps</h2>
      <table>
        <tr>
          <th>Step</th>
          <th>After</th>
          <th>Status</th>
          <th>Attempts</th>
          <th>Pipeline run</th>
          <th>Time</th>
          <th>Reason</th>
        </tr>
        ${run.steps.map(
          (s) =>
            html`<tr>
              <td>${s.name}</td>
              <td>${s.after.join(", ")}</td>
              <td><span class="status ${s.status}">${s.status}</span>${s.nextAt ? ` (next attempt ${when(s.nextAt)})` : ""}</td>
              <td>${s.attempt} of ${s.retries + 1}</td>
              <td>${s.runId ? html`<a href="/runs/${s.runId}">${s.runId}</a> ${s.runStatus ?? ""}` : ""}</td>
              <td>${s.startedAt ? ms((s.finishedAt ?? now) - s.startedAt) : ""}</td>
              <td class="err">${s.reason ?? ""}</td>
            </tr>`,
        )}
      </table>`;
    return c.html(page(run.id, body, flowLive(run.status)));
  });
