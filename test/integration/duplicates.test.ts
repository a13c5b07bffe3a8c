// Nothing quietly missing (issue 15, item 11): rows silver drops because their key repeats are
// counted in the task's profile, the run view, the manifest and the run page; ids an input list
// repeats are planned once, and counted.
import { readBoth } from "../independent-reader";
import { describe, expect, it } from "vitest";
import { postCount } from "../../src/sample/social";
import { api, configureSample, env, sampleStats, waitForRun } from "../helpers";
import { postsPipeline } from "../limits-pipelines";

postsPipeline("dup-posts", [{ requests: 100, per: "1s" }], { size: 10 });

describe("duplicate keys", () => {
  it("are dropped once each and counted: view, manifest, run page", async () => {
    expect(postCount("5")).toBeGreaterThan(0); // account 5 has posts to repeat
    await configureSample({});
    const res = await api("/v1/jobs", {
      method: "POST",
      json: { pipeline: "dup-posts", params: { accounts: ["5", "5", "6", "5"], tag: `d${crypto.randomUUID().slice(0, 6)}` } },
    });
    const run = await waitForRun(((await res.json()) as { id: string }).id);
    expect(run.status).toBe("succeeded");
    expect(run.output?.rows).toBe(postCount("5") + postCount("6"));
    expect(run.duplicateRows).toBe(2 * postCount("5"));
    const manifest = (await (await api(`/v1/jobs/${run.id}/manifest`)).json()) as { duplicateRows: number };
    expect(manifest.duplicateRows).toBe(2 * postCount("5"));
    expect(await (await api(`/runs/${run.id}`)).text()).toContain(`${2 * postCount("5")} duplicate rows dropped`);
  });

  it("ids an input list repeats across batches are planned once, counted, and gold holds each account once", async () => {
    await configureSample({});
    const key = `inputs/dup-ids-${crypto.randomUUID().slice(0, 8)}.txt`;
    await env.BUCKET.put(key, ["11", "12", "11", "13", "12", "11", "14"].join("\n"));
    const res = await api("/v1/jobs", { method: "POST", json: { pipeline: "sample-posts", params: { accountsKey: key, batchSize: 2 } } });
    const run = await waitForRun(((await res.json()) as { id: string }).id);
    expect([run.status, run.batches, run.duplicateIds]).toEqual(["succeeded", 2, 3]); // [11 12] [13 14]
    const posts = ["11", "12", "13", "14"].reduce((n, a) => n + postCount(a), 0);
    expect(run.output?.rows).toBe(posts);
    const rows = await readBoth(new Uint8Array(await (await env.BUCKET.get(run.output!.key))!.arrayBuffer()));
    expect(new Set(rows.map((r) => `${String(r.account_id)}|${String(r.post_id)}`)).size).toBe(posts);
    expect((await sampleStats()).byStatus["200"]).toBe(["11", "12", "13", "14"].reduce((n, a) => n + Math.max(1, Math.ceil(postCount(a) / 100)), 0));
    const manifest = (await (await api(`/v1/jobs/${run.id}/manifest`)).json()) as { duplicateIds: number };
    expect(manifest.duplicateIds).toBe(3);
    expect(await (await api(`/runs/${run.id}`)).text()).toContain("3 repeated ids planned once");
  });
});
