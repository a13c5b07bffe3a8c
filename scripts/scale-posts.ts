// A sample-posts run over N account ids (default 1,000,000: 10,000 tasks of 100 accounts) on
// wrangler dev: the id list is put into local R2 first, then planned from it as a stream.
// Prints tasks, time per phase, rows, coordinator storage and calls per task.
//   node scripts/scale-posts.ts [--ids 1000000] [--batch 100] [--json out.json]
// Also prints what the run cost at Cloudflare's prices (the run view's usage), and with --json writes it.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { client } from "./lib/client.ts";
import { bytes, costLine, dollars, duration } from "./lib/format.ts";
import { putLocalR2 } from "./lib/local-r2.ts";
import { startLocalServer } from "./lib/local-server.ts";
import { runMain } from "./lib/run.ts";

const { values } = parseArgs({ options: { ids: { type: "string", default: "1000000" }, batch: { type: "string", default: "100" }, json: { type: "string" } } });
const ids = Number(values.ids);

async function main(): Promise<number> {
  const stateDir = mkdtempSync(join(tmpdir(), "sluice-scale-"));
  const list = join(stateDir, "accounts.txt");
  writeFileSync(list, Array.from({ length: ids }, (_, i) => String(i + 1)).join("\n") + "\n");
  putLocalR2(stateDir, `inputs/accounts-${ids}.txt`, list);
  const server = await startLocalServer({ stateDir });
  try {
    const api = client({ baseUrl: server.url, token: server.token });
    await api.sampleConfig({});
    const started = Date.now();
    const { id } = await api.submit("sample-posts", { accountsKey: `inputs/accounts-${ids}.txt`, batchSize: Number(values.batch) });
    let last = 0;
    const run = await api.wait(
      id,
      (r) => {
        if (Date.now() - last < 10_000) return;
        last = Date.now();
        console.log(`${duration(Date.now() - started)} ${r.status} ${r.phase} ${r.progress.done}/${r.progress.total} tasks`);
      },
      1000,
    );
    const stats = await api.sampleStats();
    const tasks = Object.values(run.phases).reduce((n, p) => n + p.total, 0);
    console.log(`run ${id} ${run.status} in ${duration(Date.now() - started)}: ${run.reason ?? ""}`);
    console.log(
      `  ids ${ids}, batches ${run.batches}, tasks ${tasks}, rows ${run.output?.rows ?? 0}, dead items ${run.deadItems}, upstream requests ${stats.requests}`,
    );
    for (const [name, p] of Object.entries(run.phases))
      if (p.startedAt) console.log(`  ${name.padEnd(9)} ${duration((p.finishedAt ?? Date.now()) - p.startedAt)} (${p.total} tasks)`);
    console.log(
      `  coordinator SQLite ${bytes(run.coordinator.storageBytes)}, report calls ${run.coordinator.reportCalls} (${(run.coordinator.reportCalls / tasks).toFixed(3)} per task)`,
    );
    console.log(`  ${costLine(run)}`);
    for (const l of run.usage.cost.lines)
      console.log(`    ${l.item.padEnd(26)} ${Math.round(l.units).toLocaleString("en-US").padStart(14)} ${l.unit.padEnd(10)} ${dollars(l.dollars)}`);
    if (values.json)
      writeFileSync(
        values.json,
        JSON.stringify({ ids, status: run.status, ms: Date.now() - started, tasks, rows: run.output?.rows ?? 0, usage: run.usage }, null, 2),
      );
    return run.status === "succeeded" || run.status === "partial" ? 0 : 1;
  } finally {
    await server.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

runMain(main);
