// Put a file into the local R2 of a wrangler dev state directory (before the server starts).
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");

export function putLocalR2(stateDir: string, key: string, file: string): void {
  const put = spawnSync(
    join(root, "node_modules/.bin/wrangler"),
    ["r2", "object", "put", `sluice-data-local/${key}`, "--file", file, "--local", "--persist-to", stateDir],
    {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
    },
  );
  if (put.status !== 0) throw new Error(`wrangler r2 object put failed:\n${put.stdout}${put.stderr}`);
}
