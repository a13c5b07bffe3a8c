// This machine's npm registry serves only the packages for its own platform, so `npm install`
// leaves the other platforms' optional packages (workerd, DuckDB bindings) out of
// package-lock.json, and `npm ci` then refuses the lock as out of sync. This adds the entries a
// lock written against the full registry would have: optional, limited to their os and cpu, so
// `npm ci` skips them here and installs them where they belong. Run after changing dependencies.
import { readFileSync, writeFileSync } from "node:fs";

const path = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(path, "utf8"));
const packages = lock.packages;

function platform(name) {
  const os = /darwin/.test(name) ? "darwin" : /win32|windows/.test(name) ? "win32" : /linux/.test(name) ? "linux" : undefined;
  const cpu = /arm64|aarch64/.test(name) ? "arm64" : /x64|-64\b|amd64/.test(name) ? "x64" : undefined;
  const libc = /musl/.test(name) ? "musl" : undefined;
  return { os, cpu, libc };
}

let added = 0;
for (const [where, entry] of Object.entries(packages)) {
  for (const [name, range] of Object.entries(entry.optionalDependencies ?? {})) {
    // Node's resolution from `where`: its own node_modules, then each enclosing one.
    const candidates = [];
    for (let dir = where; ; ) {
      candidates.push(`${dir ? `${dir}/` : ""}node_modules/${name}`);
      const at = dir.lastIndexOf("/node_modules/");
      if (dir === "") break;
      dir = at < 0 ? "" : dir.slice(0, at);
    }
    if (candidates.some((c) => packages[c]?.version === range)) continue;
    // Put it beside its parent, where its installed siblings (the linux builds) live.
    const at = where.lastIndexOf("node_modules/");
    const target = `${where.slice(0, at)}node_modules/${name}`;
    if (packages[target]) continue;
    const { os, cpu, libc } = platform(name);
    packages[target] = {
      version: range,
      ...(entry.dev ? { dev: true } : {}),
      optional: true,
      ...(os ? { os: [os] } : {}),
      ...(cpu ? { cpu: [cpu] } : {}),
      ...(libc ? { libc: [libc] } : {}),
    };
    added++;
  }
}
lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b))));
writeFileSync(path, JSON.stringify(lock, null, 2) + "\n");
console.log(`package-lock.json: added ${added} optional platform entries`);
