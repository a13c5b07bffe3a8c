// `sluice flow …`: list flows, start a run of one for a window, show and watch it step by step,
// cancel it, re-run it from the steps that did not succeed.
import type { Client } from "./client.ts";
import { duration } from "./format.ts";

export const FLOW_USAGE = `  flow list                                         flows, their steps and schedules
  flow run <flow> --from D --to D [--force] [--watch]   start a run for the window [from, to)
  flow show <flow> <runId>                          the run's steps: status, attempts, pipeline runs
  flow watch <flow> <runId>                         step statuses until the run ends; exit code = status
  flow cancel <flow> <runId>                        cancel a run and its running steps
  flow rerun <flow> <runId> [--watch]               run again from the steps that did not succeed`;

/** The parts of a flow run (GET /v1/flows/<flow>/runs/<id>) the commands print. */
interface FlowRunView {
  id: string;
  status: string;
  reason: string | null;
  startedAt: number | null;
  finishedAt: number | null;
  steps: { name: string; after: string[]; status: string; attempt: number; retries: number; runId: string | null; reason: string | null }[];
}

const EXIT: Record<string, number> = { succeeded: 0, failed: 3, cancelled: 4, timed_out: 5 };
const ENDED = new Set(Object.keys(EXIT));

export interface FlowArgs {
  from?: string;
  to?: string;
  force: boolean;
  watch: boolean;
}

const path = (flow: string, runId?: string, action?: string) =>
  `/v1/flows/${encodeURIComponent(flow)}${runId ? `/runs/${encodeURIComponent(runId)}` : ""}${action ? `/${action}` : ""}`;

function show(run: FlowRunView): void {
  const elapsed = run.startedAt ? ` · ${duration((run.finishedAt ?? Date.now()) - run.startedAt)}` : "";
  console.log(`${run.id} ${run.status}${elapsed}${run.reason ? ` · ${run.reason}` : ""}`);
  for (const s of run.steps) {
    const after = s.after.length > 0 ? ` (after ${s.after.join(", ")})` : "";
    console.log(
      `  ${s.name.padEnd(20)} ${s.status.padEnd(16)} attempt ${s.attempt}/${s.retries + 1}  ${s.runId ?? ""}${after}${s.reason ? `  ${s.reason}` : ""}`,
    );
  }
}

async function watch(api: Client, flow: string, runId: string): Promise<number> {
  let last = "";
  for (;;) {
    const run = await api.json<FlowRunView>(path(flow, runId));
    const now = run.steps.map((s) => `${s.name}:${s.status}:${s.attempt}`).join(",") + run.status;
    if (now !== last) show(run);
    last = now;
    if (ENDED.has(run.status)) return EXIT[run.status] ?? 1;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

export async function flowCommand(api: Client, [sub, flow, runId]: (string | undefined)[], args: FlowArgs): Promise<number> {
  const need = (v: string | undefined, what: string) => {
    if (!v) throw new Error(`flow ${sub}: give the ${what}`);
    return v;
  };
  switch (sub) {
    case "list": {
      const res = await api.json<{
        flows: {
          name: string;
          steps: { name: string; pipeline: string; after: string[] }[];
          schedules: { name: string; cron: string; pausedByDefault: boolean }[];
        }[];
      }>("/v1/flows");
      for (const f of res.flows) {
        console.log(`${f.name}  ${f.schedules.map((s) => `${s.name} "${s.cron}"${s.pausedByDefault ? " (paused)" : ""}`).join(", ")}`);
        for (const s of f.steps) console.log(`  ${s.name.padEnd(20)} ${s.pipeline}${s.after.length > 0 ? ` after ${s.after.join(", ")}` : ""}`);
      }
      return 0;
    }
    case "run": {
      const name = need(flow, "flow");
      const res = await api.json<{ id: string; status: string; created: boolean }>(path(name, undefined, "runs"), {
        method: "POST",
        json: { from: need(args.from, "--from date"), to: need(args.to, "--to date"), force: args.force },
      });
      console.log(`${res.id}${res.created ? "" : ` (already there: ${res.status})`}`);
      return args.watch ? watch(api, name, res.id) : 0;
    }
    case "show":
      show(await api.json<FlowRunView>(path(need(flow, "flow"), need(runId, "run id"))));
      return 0;
    case "watch":
      return watch(api, need(flow, "flow"), need(runId, "run id"));
    case "cancel":
    case "rerun": {
      const run = await api.json<FlowRunView>(path(need(flow, "flow"), need(runId, "run id"), sub), { method: "POST" });
      show(run);
      return sub === "rerun" && args.watch ? watch(api, flow!, runId!) : 0;
    }
    default:
      throw new Error(`unknown flow command ${sub ?? "(none)"}: list, run, show, watch, cancel, rerun`);
  }
}
