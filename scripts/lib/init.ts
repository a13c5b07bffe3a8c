// `sluice init <dir>`: a new project that depends on sluice — the starter (one pipeline for an
// HTTP API, its end-to-end test, wrangler.toml, tsconfig, vitest config), its package.json
// pinned to the versions this sluice was built and tested with.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

interface Manifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/** This sluice's own package directory: the first one up from this file named "sluice". */
function packageRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (existsSync(file) && (JSON.parse(readFileSync(file, "utf8")) as Manifest).name === "sluice") return dir;
    if (dirname(dir) === dir) throw new Error("sluice init: cannot find sluice's own package.json");
  }
}

/** The tools a project needs, at the versions sluice itself uses. */
const TOOLS = ["@cloudflare/vitest-plugin", "@cloudflare/workers-types", "typescript", "vitest", "wrangler"];

function files(dir: string, prefix = ""): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? files(path, `${prefix}${entry}/`) : [`${prefix}${entry}`];
  });
}

/**
 * Write the starter into `target` (which must not exist, or be empty). `sluiceSpec` is what the
 * project's package.json asks for (default `^<this version>`; CI passes the packed tarball).
 * Returns the files written.
 */
export function init(target: string, options: { sluiceSpec?: string; name?: string } = {}): string[] {
  const dir = resolve(target);
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new Error(`${target} exists and is not empty: choose a new directory`);
  const name =
    options.name ??
    basename(dir)
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, "-")
      .replace(/^-+|-+$/g, "");
  if (!/^[a-z0-9][a-z0-9-]{0,50}$/.test(name)) throw new Error(`"${name}" cannot name a Worker: use lowercase letters, digits and dashes`);
  const root = packageRoot();
  const own = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as Manifest;
  const written: string[] = [];
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
    written.push(path);
  };
  const starter = join(root, "starter");
  for (const path of files(starter)) {
    // npm leaves .gitignore files out of packages: the starter keeps it as "gitignore".
    write(path === "gitignore" ? ".gitignore" : path, readFileSync(join(starter, path), "utf8").replaceAll("{{name}}", name));
  }
  const pkg = {
    name,
    private: true,
    type: "module",
    scripts: {
      dev: "wrangler dev",
      test: "tsc --noEmit && vitest run",
      "deploy:check": "wrangler deploy --dry-run --outdir .wrangler/dry-run",
      deploy: "wrangler deploy",
    },
    dependencies: { sluice: options.sluiceSpec ?? `^${own.version}`, zod: own.dependencies?.zod ?? "^4" },
    devDependencies: Object.fromEntries(TOOLS.map((t) => [t, own.devDependencies?.[t] ?? "latest"])),
  };
  write("package.json", `${JSON.stringify(pkg, null, 2)}\n`);
  return written.sort();
}
