// Current state and history (issue 18, items 4–5): pipelines fed by the sample shop's change
// feeds keep `current` (SCD 1) and `history` (SCD 2) tables across runs, each run a new version
// built from the last published history and its changes. The feeds carry late changes and
// repeats. Expected tables are folded here from the feeds as the upstream serves them over HTTP;
// outputs are read with both Parquet readers. Runs applied in either order, or again, give the
// same tables.
import { describe, expect, it } from "vitest";
import type { Row } from "../../src/arrow/columns";
import { definePipeline } from "../../src/pipelines/define";
import { sampleCustomers, shopFeed } from "../../src/pipelines/sample-shop";
import { api, configureSample, registerPipeline, submit, waitForRun } from "../helpers";
import { readBoth } from "../independent-reader";

/** sample-customers under another name: the same feed, applied in another order. */
const reversed = definePipeline({
  name: "ct-customers",
  description: "sample-customers, to apply windows in reverse",
  ...shopFeed("customers"),
  rowSchema: sampleCustomers.rowSchema,
  key: sampleCustomers.key,
  changes: sampleCustomers.changes!,
});
registerPipeline(reversed);

type Change = { seq: number; op: string; changed_at: string } & Record<string, unknown>;

/** The feeds of [from, to) as the upstream serves them. */
async function feeds(entity: "customers" | "orders", from: string, to: string): Promise<Change[][]> {
  const out: Change[][] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t < Date.parse(`${to}T00:00:00Z`); t += 86_400_000) {
    const res = await api(`/sample/shop/${entity}/changes?date=${new Date(t).toISOString().slice(0, 10)}`);
    out.push(((await res.json()) as { changes: Change[] }).changes);
  }
  return out;
}

/** Each key's distinct changes by seq (the first of a repeat kept), the history and current rows as text. */
function fold(changes: Change[], key: string, describe: (c: Change) => string) {
  const byKey = new Map<string, Map<number, Change>>();
  for (const c of changes) {
    const k = String(c[key]);
    if (!byKey.has(k)) byKey.set(k, new Map());
    if (!byKey.get(k)!.has(c.seq)) byKey.get(k)!.set(c.seq, c);
  }
  const history: string[] = [];
  const current: string[] = [];
  for (const [k, m] of byKey) {
    const ordered = [...m.values()].sort((a, b) => a.seq - b.seq);
    ordered.forEach((c, i) => {
      const next = ordered[i + 1];
      const isCurrent = !next && c.op !== "delete";
      history.push(`${k}|${c.seq}|${describe(c)}|${new Date(c.changed_at).toISOString()}|${next ? new Date(next.changed_at).toISOString() : "-"}|${isCurrent}`);
      if (isCurrent) current.push(`${k}|${c.seq}|${describe(c)}|${new Date(c.changed_at).toISOString()}`);
    });
  }
  return { history: history.sort(), current: current.sort(), keys: byKey.size };
}

async function tables(runId: string, key: string, describe: (r: Row) => string) {
  const read = async (dataset: string) => {
    const res = await api(`/v1/jobs/${runId}/output?dataset=${dataset}`);
    expect(res.status).toBe(200);
    return readBoth(new Uint8Array(await res.arrayBuffer()));
  };
  const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : "-");
  return {
    history: (await read("history"))
      .map((r) => `${String(r[key])}|${Number(r.seq)}|${describe(r)}|${iso(r.valid_from)}|${iso(r.valid_to)}|${String(r.is_current)}`)
      .sort(),
    current: (await read("current")).map((r) => `${String(r[key])}|${Number(r.seq)}|${describe(r)}|${iso(r.valid_from)}`).sort(),
  };
}

const customer = (c: Change | Row) => `${String(c.op)}|${String(c.city)}`;
const succeeded = async (pipeline: string, params: Record<string, unknown>) => {
  const run = await waitForRun(await submit(pipeline, params));
  expect(run.status).toBe("succeeded");
  return run;
};

describe("current and history tables", () => {
  it("keeps each customer's latest row and every change, across runs, with late changes and repeats in the feeds", async () => {
    await configureSample({});
    const A = { from: "2025-01-01", to: "2025-01-20" };
    const B = { from: "2025-01-20", to: "2025-02-20" };
    const days = await feeds("customers", A.from, B.to);
    const all = days.flat();
    // The feeds are not clean: changes a day late (a seq of the day before), and repeats.
    const late = days.slice(1).reduce((n, day, i) => n + day.filter((c) => c.seq < (i + 1) * 100_000).length, 0);
    expect(late).toBeGreaterThan(0);
    expect(new Set(all.map((c) => `${String(c.customer_id)}|${c.seq}`)).size).toBeLessThan(all.length);
    expect(all.some((c) => c.op === "delete")).toBe(true);
    const expected = fold(all, "customer_id", customer);

    const first = await succeeded("sample-customers", A);
    const second = await succeeded("sample-customers", B);
    const forward = await tables(second.id, "customer_id", customer);
    expect(forward.history).toEqual(expected.history);
    expect(forward.current).toEqual(expected.current);
    expect(forward.current.length).toBeLessThan(expected.keys); // closed accounts are not current

    // Each run's manifest names the history it built on and what it applied.
    const applied = async (runId: string) =>
      (
        await (
          await api(`/v1/jobs/${runId}/manifest`)
        ).json<{ changes: { previous: { runId: string } | null; changes: number; added: number; duplicates: number; history: number } }>()
      ).changes;
    const one = await applied(first.id);
    const two = await applied(second.id);
    expect(two.previous?.runId).toBe(first.id);
    expect(two.history).toBe(expected.history.length);
    expect(one.added + two.added).toBe(expected.history.length);
    expect(one.duplicates + two.duplicates).toBe(all.length - expected.history.length); // the feeds' repeats

    // Again: every change is a repeat, nothing moves.
    const again = await succeeded("sample-customers", B);
    expect(await tables(again.id, "customer_id", customer)).toEqual(forward);
    expect(await applied(again.id)).toMatchObject({ previous: { runId: second.id }, added: 0, duplicates: two.changes });

    // The same windows applied the other way round: the same tables.
    await succeeded("ct-customers", B);
    const backward = await succeeded("ct-customers", A);
    expect(await tables(backward.id, "customer_id", customer)).toEqual(forward);
  });

  it("keeps orders' latest status and history, and the day's orders, revenue and customers' cities in gold", async () => {
    await configureSample({});
    const span = { from: "2025-01-01", to: "2025-01-09" };
    const customers = await succeeded("sample-customers", span);
    const orders = await succeeded("sample-orders", span);
    const changes = (await feeds("orders", span.from, span.to)).flat();
    const order = (c: Change | Row) => `${String(c.op)}|${String(c.status)}|${String(c.customer_id)}|${Number(c.amount)}`;
    const expected = fold(changes, "order_id", order);
    const ours = await tables(orders.id, "order_id", order);
    expect(ours.history).toEqual(expected.history);
    expect(ours.current).toEqual(expected.current);
    expect(ours.current.some((r) => r.includes("|cancelled|"))).toBe(true);
    expect(ours.current.some((r) => r.includes("|delivered|"))).toBe(true);

    // Gold over the current table: orders a day (by the day placed) and status, and revenue; a
    // repeat or a late change in the feeds counts once.
    const latest = new Map<string, Change>();
    for (const c of [...changes].sort((x, y) => x.seq - y.seq)) latest.set(String(c.order_id), c);
    const perDay = new Map<string, { orders: number; revenue: number }>();
    for (const c of latest.values()) {
      const key = `${String(c.placed_at).slice(0, 10)}T00:00:00.000Z ${String(c.status)}`;
      const d = perDay.get(key) ?? { orders: 0, revenue: 0 };
      perDay.set(key, { orders: d.orders + 1, revenue: d.revenue + Number(c.amount) });
    }
    const read = async (dataset: string, runId = orders.id) =>
      readBoth(new Uint8Array(await (await api(`/v1/jobs/${runId}/output?dataset=${dataset}`)).arrayBuffer()));
    const daily = await read("daily");
    const dayOf = (r: Row) => `${(r.day as Date).toISOString()} ${String(r.status)}`;
    expect(daily.map((r) => `${dayOf(r)} ${Number(r.orders)}`).sort()).toEqual([...perDay.entries()].map(([k, v]) => `${k} ${v.orders}`).sort());
    for (const r of daily) expect(Number(r.revenue)).toBeCloseTo(perDay.get(dayOf(r))!.revenue, 6);
    expect(daily.some((r) => r.status === "cancelled")).toBe(true);

    // Revenue per customer (orders not cancelled), each with the city the customers' current table gives it.
    const cities = new Map((await read("current", customers.id)).map((r) => [String(r.customer_id), String(r.city)]));
    const live = [...latest.values()].filter((c) => c.status !== "cancelled");
    const perCustomer = await read("customer-revenue");
    expect(perCustomer.map((r) => `${String(r.customer_id)} ${Number(r.orders)}`).sort()).toEqual(
      [...new Set(live.map((c) => String(c.customer_id)))].map((id) => `${id} ${live.filter((c) => c.customer_id === id).length}`).sort(),
    );
    for (const r of perCustomer) expect(r.city ?? null).toBe(cities.get(String(r.customer_id)) ?? null);
    expect(perCustomer.filter((r) => r.city !== null).length).toBeGreaterThan(0);
  });
});
