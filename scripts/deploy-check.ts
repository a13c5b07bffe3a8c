// npm run deploy:check: bundle the Worker as `wrangler deploy` would (dry run, production
// environment) and fail if it is over the free plan's 3 MB gzip limit.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const LIMIT_KIB = 3 * 1024;
const root = resolve(import.meta.dirname, "..");
const outdir = mkdtempSync(join(tmpdir(), "sluice-bundle-"));
try {
  const result = spawnSync(join(root, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--env", "production", "--outdir", outdir], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
  });
  const output = `${result.stdout}${result.stderr}`;
  if (result.status !== 0) {
    console.error(output);
    process.exit(1);
  }
  const match = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(output);
  if (!match) {
    console.error(`could not read the bundle size from wrangler's output:\n${output}`);
    process.exit(1);
  }
  const [raw, gzip] = [Number(match[1]), Number(match[2])];
  console.log(`bundle: ${raw.toFixed(0)} KiB, gzip ${gzip.toFixed(0)} KiB (limit ${LIMIT_KIB} KiB gzip)`);
  process.exit(gzip <= LIMIT_KIB ? 0 : 1);
} finally {
  rmSync(outdir, { recursive: true, force: true });
}
