// npm run check:starter — sluice as a user gets it: pack this repository (npm pack builds
// dist/), `sluice init` a new project from the packed CLI, install the pack into it, and run the
// project's own type check and tests and a dry-run deploy there. Fails on the first step that
// fails. The project is left in $TMPDIR (its path printed) to look at.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runMain } from "./lib/run.ts";

const root = new URL("..", import.meta.url).pathname;

function step(what: string, command: string, args: string[], cwd: string): string {
  const started = Date.now();
  const result = spawnSync(command, args, {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (result.status !== 0) {
    console.error(`${what}: FAILED (${command} ${args.join(" ")}, exit ${result.status}, ${seconds} s)\n${result.stdout}\n${result.stderr}`);
    throw new Error(`${what} failed`);
  }
  console.log(`${what}: ok (${seconds} s)`);
  return result.stdout;
}

async function main(): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), "sluice-starter-"));
  step("npm pack (build, then pack)", "npm", ["pack", "--silent", "--pack-destination", work], root);
  const tarball = join(
    work,
    readdirSync(work).find((f) => f.endsWith(".tgz"))!,
  );
  const app = join(work, "my-pipelines");
  console.log(step("sluice init (the packed CLI)", "node", [join(root, "dist/cli/scripts/cli.js"), "init", app, "--sluice", `file:${tarball}`], root).trim());
  step("npm install (the pack and the starter's tools)", "npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], app);
  const tests = step("npm test (tsc --noEmit, vitest run in workerd)", "npm", ["test"], app);
  console.log(
    tests
      .split("\n")
      .filter((l) => /Test Files|Tests /.test(l))
      .map((l) => `  ${l.trim()}`)
      .join("\n"),
  );
  const dry = step("npm run deploy:check (wrangler deploy --dry-run)", "npm", ["run", "deploy:check"], app);
  console.log(
    dry
      .split("\n")
      .filter((l) => /Total Upload|--dry-run/.test(l))
      .map((l) => `  ${l.trim()}`)
      .join("\n"),
  );
  console.log(`starter checked in ${app}`);
  return 0;
}

runMain(main);
