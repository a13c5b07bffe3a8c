// A file server on localhost for the workerd benches: they PUT what Node must read (inputs for
// DuckDB, outputs to verify), GET what Node made, and POST marks that Node acts on before it
// answers (start or stop watching the isolate), so a phase's edges are exact.
import { createReadStream, createWriteStream, mkdirSync, readdirSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join, normalize, relative } from "node:path";
import { pipeline } from "node:stream/promises";

export interface BenchFiles {
  url: string;
  close(): Promise<void>;
}

function listFiles(dir: string, under: string): { name: string; bytes: number }[] {
  const root = join(dir, under);
  let entries: string[];
  try {
    entries = readdirSync(root, { recursive: true }) as string[];
  } catch {
    return [];
  }
  return entries
    .map((e) => join(root, e))
    .filter((p) => statSync(p).isFile())
    .map((p) => ({ name: relative(dir, p), bytes: statSync(p).size }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export async function serveBenchFiles(dir: string, onMark: (name: string) => Promise<void> | void = () => undefined): Promise<BenchFiles> {
  mkdirSync(dir, { recursive: true });
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const fail = (err: unknown) => {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(String(err));
    };
    if (url.pathname.startsWith("/mark/") && req.method === "POST") {
      Promise.resolve(onMark(decodeURIComponent(url.pathname.slice("/mark/".length))))
        .then(() => res.writeHead(204).end())
        .catch(fail);
      return;
    }
    if (url.pathname === "/files" && req.method === "GET") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(listFiles(dir, url.searchParams.get("under") ?? "")));
      return;
    }
    if (!url.pathname.startsWith("/files/")) return fail(`no route ${req.method} ${url.pathname}`);
    const name = normalize(decodeURIComponent(url.pathname.slice("/files/".length)));
    if (name.startsWith("..")) return fail("outside the bench directory");
    const path = join(dir, name);
    if (req.method === "PUT") {
      // ?offset=N writes a slice of a larger file (0 starts it afresh): big files come in slices.
      const offset = Number(url.searchParams.get("offset") ?? 0);
      mkdirSync(dirname(path), { recursive: true });
      pipeline(req, createWriteStream(path, offset > 0 ? { flags: "r+", start: offset } : {}))
        .then(() => res.writeHead(204).end())
        .catch(fail);
    } else if (req.method === "GET") {
      res.writeHead(200, { "content-length": statSync(path).size });
      pipeline(createReadStream(path), res).catch(() => undefined);
    } else fail(`no route ${req.method}`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
