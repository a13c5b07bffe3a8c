#!/usr/bin/env node
// sluice's command line: submit and watch runs, list them, cancel, redrive, backfill, download;
// start, watch, cancel and re-run flows.
//   npx sluice <command> [args] [--url URL] [--token TOKEN]   (or SLUICE_URL, SLUICE_TOKEN)
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import cliProgress from "cli-progress";
import type { RunView, TaskView } from "../src/types.ts";
import { ApiCallError, client, type Client } from "./lib/client.ts";
import { bytes, costLine, duration } from "./lib/format.ts";
import { FLOW_USAGE, flowCommand } from "./lib/flow-commands.ts";
import { init } from "./lib/init.ts";
import { runMain } from "./lib/run.ts";

const USAGE = `usage: sluice <command> [options]

commands:
  init <dir> [--sluice SPEC]                        a new project: one pipeline, its test, wrangler.toml
  submit <pipeline> [--params JSON] [--options JSON] [--watch]   submit a run (prints its id)
  watch <runId>                                     progress per phase until the run ends; exit code = status
  list [--pipeline P] [--status S] [--limit N]      runs, newest first
  tasks <runId> [--status S] [--phase P]            a run's tasks with their errors
  cancel <runId>                                    cancel a run
  redrive <runId>                                   re-run a finished run's failed tasks
  backfill <pipeline> (--from D --to D [--window W] | --start-year Y --end-year Y [--quarters 1,2])
           [--params JSON] [--force] [--max-parallel N]
  download <runId> [--out FILE]                     the run's Parquet output
${FLOW_USAGE}

options: --url URL (SLUICE_URL, default http://127.0.0.1:8787), --token TOKEN (SLUICE_TOKEN)
exit codes of watch: 0 succeeded, 2 partial, 3 failed, 4 cancelled, 5 timed_out; 1 on errors`;

const EXIT: Record<string, number> = { succeeded: 0, partial: 2, failed: 3, cancelled: 4, timed_out: 5 };

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: "string", default: process.env.SLUICE_URL ?? "http://127.0.0.1:8787" },
    token: { type: "string", default: process.env.SLUICE_TOKEN },
    params: { type: "string" },
    options: { type: "string" },
    watch: { type: "boolean", default: false },
    pipeline: { type: "string" },
    status: { type: "string" },
    phase: { type: "string" },
    limit: { type: "string" },
    from: { type: "string" },
    to: { type: "string" },
    window: { type: "string" },
    "start-year": { type: "string" },
    "end-year": { type: "string" },
    quarters: { type: "string" },
    force: { type: "boolean", default: false },
    "max-parallel": { type: "string" },
    out: { type: "string", short: "o" },
    help: { type: "boolean", short: "h", default: false },
    sluice: { type: "string" },
  },
});

function json(text: string | undefined, what: string): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`--${what} is not valid JSON: ${text}`);
  }
}

function need(value: string | undefined, what: string): string {
  if (!value) throw new Error(`missing ${what}\n\n${USAGE}`);
  return value;
}

async function watch(api: Client, id: string): Promise<number> {
  const tty = process.stdout.isTTY === true;
  const bars = tty
    ? new cliProgress.MultiBar(
        { format: "  {phase} {bar} {value}/{total} {note}", hideCursor: true, clearOnComplete: false, barsize: 28 },
        cliProgress.Presets.shades_classic,
      )
    : null;
  const phaseBars = new Map<string, cliProgress.SingleBar>();
  let header: cliProgress.SingleBar | undefined;
  let last = "";
  const started = Date.now();
  const samples: { at: number; done: number }[] = [];
  const run = await api.wait(
    id,
    (r: RunView) => {
      const now = Date.now();
      samples.push({ at: now, done: r.progress.done });
      while (samples.length > 2 && now - samples[0]!.at > 10_000) samples.shift();
      const first = samples[0]!;
      const rate = now > first.at ? ((r.progress.done - first.done) / (now - first.at)) * 1000 : 0;
      const eta = rate > 0 ? duration(Math.round(((r.progress.total - r.progress.done) / rate) * 1000)) : "-";
      const line = `${r.id} ${r.status} · ${r.phase ?? ""} · ${r.progress.done}/${r.progress.total} tasks (${r.progress.percent}%) · ${rate.toFixed(1)} tasks/s · ETA ${eta}`;
      if (!bars) {
        if (line !== last) console.log(line);
        last = line;
        return;
      }
      header ??= bars.create(1, 0, { phase: "", note: "" }, { format: "{note}" });
      header.update(0, { note: line });
      for (const [name, p] of Object.entries(r.phases)) {
        if (p.total === 0 && name !== r.phase) continue;
        const settled = p.succeeded + p.failed + p.dead + p.split + p.cancelled;
        const note = [
          p.failed ? `${p.failed} failed` : "",
          p.dead ? `${p.dead} dead` : "",
          p.split ? `${p.split} split` : "",
          p.startedAt ? duration((p.finishedAt ?? now) - p.startedAt) : "",
        ]
          .filter(Boolean)
          .join(" · ");
        let bar = phaseBars.get(name);
        if (!bar) {
          bar = bars.create(Math.max(p.total, 1), settled, { phase: name.padEnd(9), note });
          phaseBars.set(name, bar);
        }
        bar.setTotal(Math.max(p.total, 1));
        bar.update(settled, { phase: name.padEnd(9), note });
      }
    },
    1000,
  );
  bars?.stop();
  console.log(`${run.id} ${run.status} in ${duration(Date.now() - started)}${run.reason ? `: ${run.reason}` : ""}`);
  if (run.output) {
    const mark = run.published?.key === run.output.key ? "published" : "not published (quality not passed)";
    console.log(`output ${run.output.key} · ${run.output.rows} rows · ${bytes(run.output.bytes)} · sha256 ${run.output.sha256} · ${mark}`);
  }
  if (run.published && run.published.key !== run.output?.key) console.log(`served ${run.published.key} · ${run.published.rows} rows`);
  console.log(costLine(run));
  return EXIT[run.status] ?? 1;
}

async function main(): Promise<number> {
  const [command, arg, arg2] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command ? 0 : 1;
  }
  if (command === "init") {
    const dir = need(arg, "directory");
    const written = init(dir, { sluiceSpec: values.sluice });
    console.log(`${dir}: ${written.join(", ")}\n\nnext: cd ${dir} && npm install && npm test`);
    return 0;
  }
  const api = client({ baseUrl: values.url!, token: values.token });
  switch (command) {
    case "submit": {
      const res = await api.json<{ id: string; status: string }>("/v1/jobs", {
        method: "POST",
        json: { pipeline: need(arg, "pipeline"), params: json(values.params, "params") ?? {}, options: json(values.options, "options") ?? {} },
      });
      console.log(res.id);
      return values.watch ? watch(api, res.id) : 0;
    }
    case "watch":
      return watch(api, need(arg, "run id"));
    case "list": {
      const q = new URLSearchParams(
        Object.entries({ pipeline: values.pipeline, status: values.status, limit: values.limit }).filter((e): e is [string, string] => e[1] !== undefined),
      );
      const res = await api.json<{ runs: (RunView & { version: string | null })[] }>(`/v1/jobs?${q}`);
      for (const r of res.runs)
        console.log(
          `${r.id.padEnd(48)} ${r.status.padEnd(10)} ${String(r.progress?.percent ?? 0).padStart(5)}%  ${new Date(r.createdAt).toISOString()}  ${r.reason ?? ""}`,
        );
      return 0;
    }
    case "tasks": {
      const q = new URLSearchParams(
        Object.entries({ status: values.status, phase: values.phase, limit: values.limit ?? "1000" }).filter((e): e is [string, string] => e[1] !== undefined),
      );
      const res = await api.json<{ tasks: TaskView[] }>(`/v1/jobs/${encodeURIComponent(need(arg, "run id"))}/tasks?${q}`);
      for (const t of res.tasks)
        console.log(
          `${t.id.padEnd(34)} ${t.status.padEnd(9)} attempts ${t.attempts}  ${t.rows ?? ""}  ${t.error ? `${t.error.type}: ${t.error.message}` : ""}`,
        );
      return 0;
    }
    case "cancel":
    case "redrive": {
      const res = await api.json<{ status: string }>(`/v1/jobs/${encodeURIComponent(need(arg, "run id"))}/${command}`, { method: "POST" });
      console.log(`${arg} ${res.status}`);
      return 0;
    }
    case "backfill": {
      const body = {
        ...(values.from ? { from: values.from, to: values.to, window: values.window ?? "month" } : {}),
        ...(values["start-year"]
          ? { start_year: Number(values["start-year"]), end_year: Number(values["end-year"]), quarters: values.quarters?.split(",").map(Number) }
          : {}),
        params: json(values.params, "params") ?? {},
        force_reprocess: values.force,
        ...(values["max-parallel"] ? { max_parallel: Number(values["max-parallel"]) } : {}),
      };
      const res = await api.json<{ id: string; windows: { window: string; runId: string }[] }>(
        `/v1/pipelines/${encodeURIComponent(need(arg, "pipeline"))}/backfill`,
        { method: "POST", json: body },
      );
      console.log(`backfill ${res.id}: ${res.windows.length} runs`);
      for (const w of res.windows) console.log(`  ${w.window.padEnd(24)} ${w.runId}`);
      return 0;
    }
    case "flow":
      return flowCommand(api, [arg, arg2, positionals[3]], { from: values.from, to: values.to, force: values.force, watch: values.watch });
    case "download": {
      const id = need(arg, "run id");
      const data = await api.output(id);
      const file = values.out ?? `${id}.parquet`;
      writeFileSync(file, data);
      console.log(`${file} (${bytes(data.length)})`);
      return 0;
    }
    default:
      console.error(`unknown command ${command}\n\n${USAGE}`);
      return 1;
  }
}

runMain(main, (err) => console.error(err instanceof ApiCallError ? `error: ${err.message}` : err instanceof Error ? err.message : String(err)));
