// The sample upstream's shop: change feeds (CDC) of customers and orders, one per day, as seed
// 004's generator writes them. Deterministic, like the weather and social data.
//   customers  200 inserted on 2025-01-01, then each day two new ones, a few moving city, and now
//              and then one deleted (a closed account)
//   orders     20–39 placed a day by existing customers at one of ten sellers; shipped the next
//              day and delivered three days after being placed, or one in ten cancelled the next day
// Every change has a `seq` (increasing in the order changes happened) and `changed_at`. Feeds are
// not clean: one change in 17 comes a day late (in the next day's feed, behind that day's own),
// and one in 13 is sent again the next day (a duplicate).
import { errorBody } from "../errors";
import { hash32 } from "../hash";

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

const DAY_MS = 86_400_000;
/** The shop's first day: feeds before it are empty. */
export const SHOP_START = Date.UTC(2025, 0, 1);
const FIRST_CUSTOMERS = 200;
const SELLERS = 10;
const CITIES = ["Berlin", "Hamburg", "München", "Köln", "Leipzig", "Dresden", "Bremen", "Kiel", "Rostock", "Freiburg", "Mainz", "Erfurt"];
const STATUSES_AFTER = { shipped: 1, delivered: 3 } as const;

export interface CustomerChange {
  customer_id: string;
  seq: number;
  op: "insert" | "update" | "delete";
  changed_at: string;
  name: string;
  city: string;
}

export interface OrderChange {
  order_id: string;
  seq: number;
  op: "insert" | "update";
  changed_at: string;
  /** When the order was placed (every change carries the order's whole row). */
  placed_at: string;
  customer_id: string;
  seller_id: string;
  amount: number;
  status: "placed" | "shipped" | "delivered" | "cancelled";
}

type Change = CustomerChange | OrderChange;

const customerId = (n: number) => `C${String(n).padStart(5, "0")}`;
/** Customers that exist at the start of `day` (created before it): the first 200, then two a day. */
const customersBefore = (day: number) => (day <= 0 ? 0 : FIRST_CUSTOMERS + 2 * (day - 1));
/** The day customer n is deleted, if ever: one in 40, 20–80 days after it was created. */
function deletedOn(n: number): number | null {
  if (hash32(`del|${n}`) % 40 !== 0) return null;
  const created = n <= FIRST_CUSTOMERS ? 0 : Math.ceil((n - FIRST_CUSTOMERS) / 2);
  return created + 20 + (hash32(`deld|${n}`) % 61);
}
const cityOf = (n: number, version: number) => CITIES[hash32(`city|${n}|${version}`) % CITIES.length]!;

/** The changes that happened on `day` (days since SHOP_START), in order. */
function happened(entity: "customers" | "orders", day: number): Change[] {
  if (day < 0) return [];
  const out: Change[] = [];
  const instant = (d: number, i: number) => new Date(SHOP_START + d * DAY_MS + 60_000 + i * 37_000).toISOString();
  const stamp = (i: number) => ({ seq: day * 100_000 + i, changed_at: instant(day, i) });
  if (entity === "customers") {
    const created = customersBefore(day + 1);
    for (let n = customersBefore(day) + 1; n <= created; n++)
      out.push({ customer_id: customerId(n), op: "insert", name: `Customer ${n}`, city: cityOf(n, 0), ...stamp(out.length) });
    for (let n = 1; n <= customersBefore(day); n++) {
      const gone = deletedOn(n);
      if (gone !== null && gone < day) continue;
      if (gone === day) out.push({ customer_id: customerId(n), op: "delete", name: `Customer ${n}`, city: "", ...stamp(out.length) });
      else if (hash32(`move|${n}|${day}`) % 25 === 0)
        out.push({ customer_id: customerId(n), op: "update", name: `Customer ${n}`, city: cityOf(n, day), ...stamp(out.length) });
    }
    return out;
  }
  const placed = (d: number) => 20 + (hash32(`orders|${d}`) % 20);
  const order = (d: number, k: number) => {
    const h = hash32(`order|${d}|${k}`);
    let customer = 1 + (h % Math.max(1, customersBefore(d)));
    if (deletedOn(customer) !== null && deletedOn(customer)! <= d) customer = 1 + ((customer * 7) % FIRST_CUSTOMERS);
    // Placed orders come first in their day's changes: the k-th is the day's k-th change.
    return {
      order_id: `O${d}-${k}`,
      placed_at: instant(d, k),
      customer_id: customerId(customer),
      seller_id: `S${String(1 + (h % SELLERS)).padStart(2, "0")}`,
      amount: 5 + (h % 49_500) / 100,
    };
  };
  const cancelled = (d: number, k: number) => hash32(`cancel|${d}|${k}`) % 10 === 0;
  if (day >= 1) for (let k = 0; k < placed(day); k++) out.push({ ...order(day, k), op: "insert", status: "placed", ...stamp(out.length) });
  for (const [status, after] of Object.entries(STATUSES_AFTER) as ["shipped" | "delivered", number][]) {
    const d = day - after;
    if (d < 1) continue;
    for (let k = 0; k < placed(d); k++) {
      if (cancelled(d, k)) continue;
      out.push({ ...order(d, k), op: "update", status, ...stamp(out.length) });
    }
  }
  if (day >= 2)
    for (let k = 0; k < placed(day - 1); k++)
      if (cancelled(day - 1, k)) out.push({ ...order(day - 1, k), op: "update", status: "cancelled", ...stamp(out.length) });
  return out;
}

const late = (c: Change) => hash32(`late|${c.seq}`) % 17 === 0;
const repeated = (c: Change) => hash32(`dup|${c.seq}`) % 13 === 0;

/** What the feed of `day` sends: that day's changes less the late ones, then the day before's late ones and repeats. */
export function feed(entity: "customers" | "orders", day: number): Change[] {
  const today = happened(entity, day).filter((c) => !late(c));
  const before = happened(entity, day - 1).filter((c) => late(c) || repeated(c));
  return [...today, ...before];
}

/** `GET /sample/shop/{customers,orders}/changes?date=YYYY-MM-DD`: the day's feed. */
export function shopRoute(url: URL, path: string): Response {
  const match = /^(customers|orders)\/changes$/.exec(path);
  if (!match) return json(errorBody("not_found", `no route /sample/shop/${path}`), 404);
  const date = url.searchParams.get("date") ?? "";
  const at = /^\d{4}-\d{2}-\d{2}$/.test(date) ? Date.parse(`${date}T00:00:00Z`) : NaN;
  if (!Number.isFinite(at)) return json(errorBody("bad_request", "date must be YYYY-MM-DD"), 400);
  return json({ date, changes: feed(match[1] as "customers" | "orders", Math.round((at - SHOP_START) / DAY_MS)) });
}
