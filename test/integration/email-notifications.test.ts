// Email notifications (issue 17, item 7): a pipeline or a flow names people to mail on the events
// they ask for. Through the Worker's send_email binding SLUICE_EMAIL where it is bound; where it
// is not (local runs, these tests) each message is composed and recorded in the notifications
// list, not sent. The binding's side is checked with a stand-in that keeps what it is given.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { Catalog } from "../../src/catalog";
import { defineFlow } from "../../src/flows/define";
import { definePipeline, type Notify, type Pipeline } from "../../src/pipelines/define";
import { notifyFor } from "../../src/pipelines/environment";
import { configProblems } from "../../src/wrangler-config";
import { Notifier } from "../../durable-objects/notifications";
import { coordinatorStub } from "../../durable-objects/rpc/coordinator";
import { flowStub } from "../../durable-objects/rpc/flow";
import { sluice } from "../../src/index";
import { api, configureSample, env, registerPipeline, submit, waitForRun } from "../helpers";
import { POSTS, accountItems, socialSource } from "../limits-pipelines";

const OPS = { to: ["ops@example.com", "data@example.com"], from: "sluice@example.com" };

function mailed(name: string, notify: Notify | Notify[] = { email: OPS, on: ["failed"] }): Pipeline {
  return definePipeline({
    name,
    description: "posts of one account, mailing ops when a run fails",
    params: z.object({ account: z.string() }).strict(),
    source: socialSource("email-api"),
    *plan(params) {
      yield { partition: `posts/${name}/${params.account}`, data: { accounts: [params.account] } };
    },
    items: accountItems,
    ...POSTS,
    maxAttempts: 1,
    retryPasses: 0,
    notify,
  });
}

const pipeline = mailed("email-posts");
registerPipeline(pipeline);
const flow = defineFlow({
  name: "email-flow",
  steps: { only: { pipeline: "email-posts", params: () => ({ account: "961" }) } },
  notify: { email: { to: "oncall@example.com", from: "sluice@example.com" }, on: ["step_failed", "failed"] },
});
sluice.catalog.addFlow(flow);

describe("email notifications", () => {
  it("composes the failed run's email and records it where no send_email binding is bound", async () => {
    await configureSample({ brokenAccounts: ["960"] });
    const run = await waitForRun(await submit("email-posts", { account: "960" }));
    expect(run.status).toBe("failed");
    const list = await vi.waitUntil(async () => {
      const l = await coordinatorStub(env, run.id).notifications();
      return l.length > 0 && l[0]!.status !== "pending" ? l : null;
    });
    expect(list).toEqual([
      expect.objectContaining({
        url: "mailto:ops@example.com,data@example.com",
        status: "recorded",
        email: expect.objectContaining({ from: OPS.from, to: OPS.to }),
      }),
    ]);
    const email = list[0]!.email!;
    expect(email.subject).toBe(`[sluice] run ${run.id} of email-posts: failed`);
    expect(email.text).toContain(`Reason: ${run.reason}`);
    expect(email.text).toContain(`self: /v1/jobs/${run.id}`);
    await configureSample({});
  });

  it("mails a flow's step failure and the flow's failure", async () => {
    await configureSample({ brokenAccounts: ["961"] });
    const res = await api("/v1/flows/email-flow/runs", { method: "POST", json: { from: "2026-11-01", to: "2026-11-02" } });
    const { id } = await res.json<{ id: string }>();
    const list = await vi.waitUntil(
      async () => {
        const l = await flowStub(env, "email-flow").notifications();
        return l.length === 2 && l.every((n) => n.status !== "pending") ? l : null;
      },
      { timeout: 30_000, interval: 50 },
    );
    expect(list.map((n) => [n.url, n.status, n.email?.subject])).toEqual([
      ["mailto:oncall@example.com", "recorded", `[sluice] flow email-flow run ${id}, step only: step_failed`],
      ["mailto:oncall@example.com", "recorded", `[sluice] flow email-flow run ${id}: failed`],
    ]);
    expect(list[1]!.email!.text).toContain("Reason: step only failed");
    await configureSample({});
  });

  it("sends through the binding where it is bound: from, recipients, subject and text", async () => {
    const sent: unknown[] = [];
    const binding = { send: async (message: unknown) => void sent.push(message) } as unknown as SendEmail;
    const stub = env.RUN_COORDINATOR.get(env.RUN_COORDINATOR.idFromName("email-binding-check"));
    await runInDurableObject(stub, async (_instance, state) => {
      const notifier = new Notifier(state.storage.sql, { ...env, SLUICE_EMAIL: binding });
      notifier.add({ email: OPS }, { runId: "r1", pipeline: "p", status: "failed", reason: "boom", event: "failed", links: { self: "/v1/jobs/r1" } }, 0);
      await notifier.deliver(1);
      expect(notifier.list()).toEqual([expect.objectContaining({ status: "delivered", attempts: 1 })]);
    });
    expect(sent).toEqual([
      { from: OPS.from, to: OPS.to, subject: "[sluice] run r1 of p: failed", text: expect.stringContaining("Reason: boom\nself: /v1/jobs/r1") },
    ]);
  });

  it("refuses a target that is neither or both, and a bad address; environments may mail; the deploy check wants the binding", () => {
    expect(() => mailed("email-bad", { email: { to: "not an address", from: "a@b.co" } })).toThrow(/is not an email address/);
    expect(() => mailed("email-both", { url: "https://hooks.example.com/x", email: OPS })).toThrow(/a url or an email, not both/);
    expect(() => mailed("email-none", {})).toThrow(/a url or an email/);
    const staging = notifyFor(
      { SLUICE_NOTIFY: JSON.stringify({ "email-posts": [{ email: { to: "staging@example.com", from: "s@example.com" }, on: ["failed"] }] }) },
      pipeline,
    );
    expect(staging).toEqual([{ email: { to: "staging@example.com", from: "s@example.com" }, on: ["failed"] }]);
    expect(() => notifyFor({ SLUICE_NOTIFY: JSON.stringify({ "email-posts": [{ email: { to: "x", from: "s@example.com" } }] }) }, pipeline)).toThrow(
      /SLUICE_NOTIFY/,
    );
    const problems = configProblems(new Catalog([pipeline]), { send_email: [] });
    expect(problems).toContain("top level: no [[send_email]] binding SLUICE_EMAIL: email notifications would be recorded, not sent");
    expect(configProblems(new Catalog([pipeline]), { send_email: [{ name: "SLUICE_EMAIL" }] }).some((p) => p.includes("SLUICE_EMAIL"))).toBe(false);
  });
});
