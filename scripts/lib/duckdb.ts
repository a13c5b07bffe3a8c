// DuckDB from Node: the independent reader sluice's Parquet is checked with.
import { DuckDBInstance } from "@duckdb/node-api";

export interface Duck {
  /** Rows as JSON-friendly objects (bigints → numbers or strings, timestamps → ISO strings). */
  all<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  close(): void;
}

export async function openDuck(): Promise<Duck> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  return {
    async all<T>(sql: string) {
      const reader = await connection.runAndReadAll(sql);
      return reader.getRowObjectsJson() as T[];
    },
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** A SQL string literal. */
export const literal = (value: string) => `'${value.replace(/'/g, "''")}'`;
