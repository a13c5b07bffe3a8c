// Nothing quietly missing (issue 15, item 11): rows silver drops because their key repeats are
// counted in the task's profile, the run view, the manifest and the run page.
import { describe, expect, it } from "vitest";
import { postCount } from "../src/sample/social";
import { api, configureSample, waitForRun } from "./helpers";
import { postsPipeline } from "./limits-pipelines";

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
});
