// Notifications a receiver can trust (issue 17, item 7, in part): a run's webhook is signed
// (HMAC-SHA256 of "<timestamp>.<body>" with a Worker secret, Stripe-style) and carries a
// credential read from another secret; the receiver recomputes the signature from what it got.
import { describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { definePipeline } from "../src/pipelines/define";
import { SAMPLE_ORIGIN } from "../src/upstream/fetch";
import { api, configureSample, env, registerPipeline, submit, waitForRun } from "./helpers";
import { POSTS } from "./limits-pipelines";

const HOOK = "signed-run";

registerPipeline(
  definePipeline({
    name: "signed-hooks",
    description: "one account's posts, failing, with a signed webhook",
    params: z.object({ tag: z.string() }).strict(),
    source: {
      name: "signed-hooks-api",
      baseUrl: `${SAMPLE_ORIGIN}/sample/social`,
      rateLimit: [{ requests: 1000, per: "1s" }],
      concurrency: 4,
      timeoutMs: 10_000,
      retry: { attempts: 1 },
    },
    *plan(params) {
      yield { partition: `posts/${params.tag}`, data: { account: "801" } };
    },
    request: (batch, source) => ({ url: `${source.baseUrl}/accounts/${String(batch.data.account)}/posts?limit=100` }),
    ...POSTS,
    maxAttempts: 1,
    retryPasses: 0,
    window: (p) => ({ name: p.tag, hive: `tag=${p.tag}` }),
    notify: {
      url: `${SAMPLE_ORIGIN}/sample/hooks/${HOOK}`,
      on: ["failed"],
      signingSecret: "HOOK_SIGNING_KEY",
      auth: { header: "authorization", secret: "HOOK_TOKEN", scheme: "Bearer" },
    },
  }),
);

async function hmacHex(secret: string, text: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return Array.from(new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(text))), (b) => b.toString(16).padStart(2, "0")).join("");
}

describe("signed webhooks", () => {
  it("signs each delivery with the secret and sends the credential; a tampered body does not verify", async () => {
    await api(`/sample/hooks/${HOOK}`, { method: "DELETE" });
    await configureSample({ faultRate: 1, faultKinds: ["5xx"] });
    const run = await waitForRun(await submit("signed-hooks", { tag: "s1" }));
    expect(run.status).toBe("failed");
    const got = await vi.waitUntil(
      async () => {
        const r = await (
          await api(`/sample/hooks/${HOOK}`)
        ).json<{ received: { runId: string; status: string }[]; headers: { signature: string | null; authorization: string | null; raw: string }[] }>();
        return r.headers.length > 0 ? r : null;
      },
      { timeout: 20_000, interval: 50 },
    );
    expect(got.received).toEqual([expect.objectContaining({ runId: run.id, status: "failed" })]);
    const delivery = got.headers[0]!;
    expect(delivery.authorization).toBe(`Bearer ${(env as unknown as Record<string, string>).HOOK_TOKEN}`);
    const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(delivery.signature ?? "");
    expect(m).not.toBeNull();
    const t = Number(m![1]);
    expect(Math.abs(t - Date.now() / 1000)).toBeLessThan(300);
    const secret = (env as unknown as Record<string, string>).HOOK_SIGNING_KEY!;
    expect(m![2]).toBe(await hmacHex(secret, `${t}.${delivery.raw}`));
    expect(m![2]).not.toBe(await hmacHex(secret, `${t}.${delivery.raw.replace('"failed"', '"succeeded"')}`));
    expect(m![2]).not.toBe(await hmacHex("another-key", `${t}.${delivery.raw}`));
  });
});
