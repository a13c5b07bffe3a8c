// Start the Worker locally (wrangler dev: workerd + miniflare, local R2/Queues/Durable Objects)
// on a free port with its own state directory, and stop it again.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export interface LocalServer {
  url: string;
  token: string;
  stateDir: string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolvePort(address.port) : reject(new Error("no port"))));
    });
  });
}

const root = resolve(import.meta.dirname, "../..");

export async function startLocalServer(options: { token?: string; stateDir?: string; log?: (line: string) => void } = {}): Promise<LocalServer> {
  const port = await freePort();
  const token = options.token ?? `local-${Math.random().toString(36).slice(2)}`;
  const ownState = options.stateDir === undefined;
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), "sluice-state-"));
  const wrangler = join(root, "node_modules/.bin/wrangler");
  const child: ChildProcess = spawn(
    wrangler,
    [
      "dev",
      "--port",
      String(port),
      "--ip",
      "127.0.0.1",
      "--var",
      `SLUICE_API_TOKEN:${token}`,
      "--persist-to",
      stateDir,
      "--show-interactive-dev-session=false",
      "--log-level",
      "warn",
    ],
    {
      cwd: root,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  const onData = (chunk: Buffer) => {
    const text = chunk.toString();
    output += text;
    if (output.length > 100_000) output = output.slice(-50_000);
    for (const line of text.split("\n")) if (line.trim()) options.log?.(line);
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<number | null>((resolveExit) => child.once("exit", (code) => resolveExit(code)));
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}:\n${output}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGTERM");
      throw new Error(`wrangler dev did not answer within 90 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    token,
    stateDir,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGINT");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
      if (ownState) rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
