// Checking a pipeline's gold datasets against its silver columns when it is defined: a dataset that
// names a column silver does not have, or cannot be computed as declared, is refused at startup.
import type { ColumnSpec } from "../arrow/columns";
import { bucketName, entries, type GoldDataset } from "./aggregates";
import { checkLookup } from "./lookups";
import { MAX_PARTITIONS } from "./partitions";

/**
 * A merge task reads each input's part and writes its own, a part at a time: partitions ×
 * (fan-in + 1) R2 calls, kept within a Worker's 10,000 subrequests with room for the rest.
 */
export const MAX_PART_CALLS = 8_000;

/** Throws naming the dataset when it names a column silver does not have, a bucket that is not a timestamp, or partitions out of range. */
export function checkGold(pipeline: string, datasets: GoldDataset[], silver: ColumnSpec[], fanIn: number): void {
  const names = new Set<string>();
  for (const d of datasets) {
    if (!/^[a-z0-9][a-z0-9-]{0,40}$/.test(d.name))
      throw new Error(`pipeline ${pipeline}: gold dataset name ${JSON.stringify(d.name)}: lowercase letters, digits and dashes`);
    if (names.has(d.name)) throw new Error(`pipeline ${pipeline}: two gold datasets are named ${d.name}`);
    names.add(d.name);
    const where = `pipeline ${pipeline}, gold dataset ${d.name}`;
    const has = (c: string) => silver.some((s) => s.name === c);
    for (const c of d.groupBy) if (!has(c)) throw new Error(`${where}: groupBy column ${c} is not a silver column`);
    if (d.bucket && silver.find((s) => s.name === d.bucket!.column)?.type !== "timestamp")
      throw new Error(`${where}: bucket column ${d.bucket.column} is not a timestamp column`);
    for (const [name, a] of entries(d)) {
      if ("column" in a && !has(a.column)) throw new Error(`${where}: aggregate ${name} reads ${a.column}, not a silver column`);
      if ("by" in a && !has(a.by)) throw new Error(`${where}: aggregate ${name} orders by ${a.by}, not a silver column`);
      if (a.fn === "quantile") {
        if (!(a.q > 0 && a.q <= 1)) throw new Error(`${where}: aggregate ${name}: q must be in (0, 1], not ${a.q}`);
        const type = silver.find((s) => s.name === a.column)?.type;
        if (type !== "float64" && type !== "int32" && type !== "int64")
          throw new Error(`${where}: aggregate ${name}: a quantile of ${a.column} needs a numeric column, not ${type}`);
      }
    }
    if (d.lookup) checkLookup(where, d.lookup, d.groupBy);
    const parts = d.partitions ?? 1;
    if (!Number.isInteger(parts) || parts < 1 || parts > MAX_PARTITIONS)
      throw new Error(`${where}: partitions must be a whole number from 1 to ${MAX_PARTITIONS}, not ${parts}`);
    if (parts > 1 && parts * (fanIn + 1) > MAX_PART_CALLS)
      throw new Error(
        `${where}: ${parts} partitions with a merge fan-in of ${fanIn} make ${parts * (fanIn + 1)} R2 calls a merge task; keep partitions × (mergeFanIn + 1) within ${MAX_PART_CALLS} (a Worker makes at most 10,000 subrequests)`,
      );
    if (parts > 1 && d.over === "current")
      throw new Error(`${where}: a dataset over the current table is not partitioned (the table is bounded by changes.maxRows)`);
    const out = [...d.groupBy, ...(d.bucket ? [bucketName(d)!] : []), ...(d.lookup?.columns ?? []), ...Object.keys(d.aggregates)];
    if (new Set(out).size !== out.length) throw new Error(`${where}: two output columns share a name`);
  }
}
