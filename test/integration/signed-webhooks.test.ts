// Notifications a receiver can trust (issue 17, item 7, in part): a run's webhook is signed
// (HMAC-SHA256 of "<timestamp>.<body>" with a Worker secret, Stripe-style) and carries a
// credential read from another secret; the receiver recomputes the signature from what it got.
// Several targets, each called on the events it asks for (statuses, quality warnings).
import { describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { definePipeline } from "../../src/pipelines/define";
import { check } from "../../src/quality/checks";
import { SAMPLE_ORIGIN } from "../../src/upstream/fetch";
import { api, configureSample, env, registerPipeline, submit, waitForRun } from "../helpers";
import { POSTS, accountRequest, socialSource } from "../limits-pipelines";

const HOOK = "signed-run";

registerPipeline(
  definePipeline({
    name: "signed-hooks",
    description: "one account's posts, failing, with a signed webhook",
    params: z.object({ tag: z.string() }).strict(),
    source: socialSource("signed-hooks-api"),
    *plan(params) {
      yield { partition: `posts/${params.tag}`, data: { account: "801" } };
    },
    request: accountRequest,
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

// Two targets, each with its own events: one hears successes, the other quality warnings.
registerPipeline(
  definePipeline({
    name: "hook-targets",
    description: "one account's posts, with a warn check that fails",
    params: z.object({ tag: z.string() }).strict(),
    source: {
      name: "hook-targets-api",
      baseUrl: `${SAMPLE_ORIGIN}/sample/social`,
      rateLimit: [{ requests: 1000, per: "1s" }],
      concurrency: 4,
      timeoutMs: 10_000,
    },
    *plan(params) {
      yield { partition: `posts/${params.tag}`, data: { account: "802" } };
    },
    request: accountRequest,
    ...POSTS,
    quality: [check.schema(), check.minRows(10_000, "run", "warn")],
    window: (p) => ({ name: p.tag, hive: `tag=${p.tag}` }),
    notify: [
      { url: `${SAMPLE_ORIGIN}/sample/hooks/targets-success`, on: ["succeeded"] },
      { url: `${SAMPLE_ORIGIN}/sample/hooks/targets-warnings`, on: ["quality_warning"] },
    ],
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

  it("calls each target on the events it asks for: success to one, the quality warning to another", async () => {
    for (const hook of ["targets-success", "targets-warnings"]) await api(`/sample/hooks/${hook}`, { method: "DELETE" });
    await configureSample({});
    const run = await waitForRun(await submit("hook-targets", { tag: "t1" }));
    expect(run.status).toBe("succeeded");
    const received = (hook: string) =>
      vi.waitUntil(
        async () => {
          const r = await (await api(`/sample/hooks/${hook}`)).json<{ received: { runId: string; event: string; warnings?: string[] }[] }>();
          return r.received.length > 0 ? r.received : null;
        },
        { timeout: 20_000, interval: 50 },
      );
    expect(await received("targets-success")).toEqual([expect.objectContaining({ runId: run.id, event: "succeeded" })]);
    expect(await received("targets-warnings")).toEqual([expect.objectContaining({ runId: run.id, event: "quality_warning", warnings: ["minRows(run)"] })]);
  });
});
