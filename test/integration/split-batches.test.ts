// A batch that fails for good because of one key is split (issue 15, item 9): halves, again and
// again, until the failing keys stand alone; the live keys land, the dead ones go to the dead list.
import { readBoth } from "../independent-reader";
import { describe, expect, it } from "vitest";
import { halveByKeys } from "../../src/pipelines/split";
import { api, configureSample, env, sampleStats, waitForRun } from "../helpers";

interface Task {
  id: string;
  batchId: string;
  status: string;
  attempts: number;
  error: { status?: number; message: string } | null;
}

const tasks = async (id: string, query: string) => (await (await api(`/v1/jobs/${id}/tasks?limit=500&${query}`)).json<{ tasks: Task[] }>()).tasks;

describe("splitting a failing batch", () => {
  it("halves a batch of 8 stations with 2 deleted until the deleted ones stand alone: 6 stations' rows land", async () => {
    const stations = ["10000", "10037", "10074", "10111", "10148", "10185", "10222", "10259"];
    await configureSample({ deletedStations: ["10037", "10222"] });
    const params = { stations, from: "2021-03-01", to: "2021-03-03", chunk: "day" }; // 2 batches of 8 stations
    const res = await api("/v1/jobs", { method: "POST", json: { pipeline: "sample-weather", params, options: { toleratedFailurePercent: 40 } } });
    const id = (await res.json<{ id: string }>()).id;
    const run = await waitForRun(id);

    // Per day: 8 → 4 + 4 → 2 + 2 + 2 + 2 → the two halves with a deleted station in ones.
    // Leaves: [10000] [10037 ✗] [10074 10111] [10148 10185] [10222 ✗] [10259].
    expect([run.status, run.batches, run.lostBatches]).toEqual(["partial", 12, 4]);
    const dead = await tasks(id, "status=dead");
    expect(dead.map((t) => t.error?.message.match(/locations\/(\d+)/)?.[1]).sort()).toEqual(["10037", "10037", "10222", "10222"]);
    expect(dead.every((t) => t.error?.status === 404 && t.attempts === 1)).toBe(true);
    const split = await tasks(id, "status=split");
    expect(split.map((t) => t.id).sort()).toEqual(
      ["b000000", "b000000-0", "b000000-0-0", "b000000-1", "b000000-1-1", "b000001", "b000001-0", "b000001-0-0", "b000001-1", "b000001-1-1"].map(
        (b) => `ingest-${b}`,
      ),
    );
    expect((await sampleStats()).byStatus["404"]).toBe(14); // 7 a day: the 5 split batches and the 2 stations alone

    const object = await env.BUCKET.get(run.output!.key);
    const rows = await readBoth(new Uint8Array(await object!.arrayBuffer()));
    const live = stations.filter((s) => s !== "10037" && s !== "10222");
    expect(rows).toHaveLength(live.length * 48);
    expect(new Set(rows.map((r) => r.station_id))).toEqual(new Set(live));
    expect(new Set(rows.map((r) => `${String(r.station_id)}|${(r.observed_at as Date).getTime()}`)).size).toBe(rows.length);

    // The manifest's dead list names each deleted station's batch with its error.
    const manifest = await (await env.BUCKET.get(`runs/${id}/manifest.json`))!.json<{ dead: { batchId: string; error: { status: number } }[] }>();
    expect(manifest.dead).toHaveLength(4);
    expect(manifest.dead.every((d) => d.error.status === 404)).toBe(true);
  });

  it("the default split halves the list in the batch's data that holds its keys, each half in its own partition", () => {
    const batch = { id: "b000007", partition: "daily/day=2024-01-01", data: { day: "2024-01-01", meters: ["m1", "m2", "m3"] } };
    expect(halveByKeys(batch, ["m1", "m2", "m3"])).toEqual([
      { partition: expect.stringMatching(/^daily\/day=2024-01-01\/keys=m1-m2-n2-[0-9a-f]{8}$/), data: { day: "2024-01-01", meters: ["m1", "m2"] } },
      { partition: "daily/day=2024-01-01/keys=m3", data: { day: "2024-01-01", meters: ["m3"] } },
    ]);
    expect(halveByKeys(batch, ["m1"])).toBeNull(); // one key: nothing to split
    expect(halveByKeys(batch, ["x", "y"])).toBeNull(); // the keys are not a list in the data
    const odd = halveByKeys({ ...batch, data: { meters: ["a/b", "a_b"] } }, ["a/b", "a_b"])!;
    expect(odd[0]!.partition).not.toBe(odd[1]!.partition);
  });
});
