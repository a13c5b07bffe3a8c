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
  /** The V8 inspector's port (wrangler dev's --inspector-port), when asked for. */
  inspectorPort: number | null;
  /** Stop cleanly (SIGINT), then remove the state directory if it was ours. */
  stop(): Promise<void>;
  /** SIGKILL wrangler and workerd at once, as a crash would: the state directory stays. */
  kill(): Promise<void>;
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

// The servers run in their own process groups: take them down when this process goes.
const running = new Set<number>();
const killAll = () => {
  for (const pid of running) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
};
process.once("exit", killAll);
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });

export interface LocalServerOptions {
  token?: string;
  stateDir?: string;
  log?: (line: string) => void;
  /** Open the V8 inspector (for CPU profiles, see profile.ts). */
  inspect?: boolean;
  /** Extra `--var NAME:value` bindings. */
  vars?: Record<string, string>;
}

export async function startLocalServer(options: LocalServerOptions = {}): Promise<LocalServer> {
  const port = await freePort();
  const inspectorPort = options.inspect ? await freePort() : null;
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
      // The sample upstream and open reads: local only (wrangler.toml keeps them off).
      "--var",
      "SAMPLE_UPSTREAM:enabled",
      "--var",
      "PUBLIC_READS:true",
      "--var",
      "SLUICE_QUEUE_IN_MEMORY:true",
      "--persist-to",
      stateDir,
      "--show-interactive-dev-session=false",
      "--log-level",
      "warn",
      ...(inspectorPort ? ["--inspector-port", String(inspectorPort)] : []),
      ...Object.entries(options.vars ?? {}).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
    ],
    {
      cwd: root,
      detached: true, // its own process group, so kill() takes workerd down with wrangler
      // Its own dev registry: sessions of one Worker name would otherwise find each other's
      // Durable Objects and queues through the shared one.
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", WRANGLER_REGISTRY_PATH: mkdtempSync(join(tmpdir(), "sluice-registry-")) },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  if (child.pid !== undefined) running.add(child.pid);
  child.once("exit", () => child.pid !== undefined && running.delete(child.pid));
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
    inspectorPort,
    async kill() {
      if (child.exitCode === null && child.pid !== undefined) {
        process.kill(-child.pid, "SIGKILL");
        await exited;
      }
    },
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
