// Only gold that passed quality is served or marked published (issue 15, item 5): not the output
// of a failed run while a re-run of it makes the next version, nor after that re-run is cancelled.
import { describe, expect, it } from "vitest";
import { layout } from "../../src/r2/layout";
import { api, configureSample, env, getRun, submit, waitForRun } from "../helpers";

async function published(key: string) {
  const object = await env.BUCKET.get(layout.published(key));
  return object ? object.json<{ key: string; sha256: string; runId: string; version: string }>() : null;
}

describe("published output", () => {
  it("marks gold that passed quality published and serves it, and the next version once it passes", async () => {
    await configureSample({});
    const id = await submit("sample-weather", { stations: ["10259"], from: "2022-06-01", to: "2022-06-03", chunk: "day" });
    const first = await waitForRun(id);
    expect(first.status).toBe("succeeded");
    expect(first.published).toEqual(first.output);
    expect(await published(first.output!.key)).toMatchObject({ key: first.output!.key, sha256: first.output!.sha256, runId: id, version: first.version });
    const served = await api(`/v1/jobs/${id}/output`);
    expect([served.status, served.headers.get("x-sluice-version"), served.headers.get("x-sluice-sha256")]).toEqual([200, first.version, first.output!.sha256]);
    await served.arrayBuffer();

    expect((await api(`/v1/jobs/${id}/phases/aggregate/rerun`, { method: "POST" })).status).toBe(202);
    const running = await api(`/v1/jobs/${id}/output`); // the first version stays served meanwhile
    expect(running.headers.get("x-sluice-version")).toBe(first.version);
    await running.arrayBuffer();
    const second = await waitForRun(id);
    expect(second.published?.key).toBe(second.output!.key);
    expect(second.published?.key).not.toBe(first.output!.key);
    expect((await api(`/v1/jobs/${id}/output`)).headers.get("x-sluice-version")).toBe(second.version);
  });

  it("never serves or publishes gold that failed quality: not while it is re-run, not after the re-run is cancelled", async () => {
    await configureSample({ gapStations: ["10296"] });
    const id = await submit("sample-weather", { stations: ["10296", "10333"], from: "2022-07-01", to: "2022-07-03", chunk: "day" });
    const failed = await waitForRun(id);
    expect(failed.status).toBe("failed");
    expect(failed.output).not.toBeNull(); // written and validated (`.done`), then measured
    expect(await env.BUCKET.head(layout.done(failed.output!.key))).not.toBeNull();
    expect(await published(failed.output!.key)).toBeNull();
    expect(failed.published).toBeNull();
    const refused = await api(`/v1/jobs/${id}/output`);
    expect([refused.status, (await refused.json<{ error: { code: string } }>()).error.code]).toEqual([409, "output_failed_quality"]);

    // Re-run its aggregation: the run is running again with the failed gold still its latest
    // output. (The re-run's merge message waits for the queue's 1 s batch window: it is still
    // running when the cancel comes.)
    expect((await api(`/v1/jobs/${id}/phases/aggregate/rerun`, { method: "POST" })).status).toBe(202);
    const whileRunning = await api(`/v1/jobs/${id}/output`);
    expect([whileRunning.status, (await whileRunning.json<{ error: { code: string } }>()).error.code]).toEqual([409, "output_not_ready"]);
    expect((await api(`/v1/jobs/${id}/cancel`, { method: "POST" })).status).toBe(202);
    const cancelled = await getRun(id);
    expect([cancelled.status, cancelled.output?.key, cancelled.published]).toEqual(["cancelled", failed.output!.key, null]);
    expect((await api(`/v1/jobs/${id}/output`)).status).toBe(409);
    const page = await (await api(`/runs/${id}`)).text();
    expect(page).not.toContain("Download output");
  });
});
