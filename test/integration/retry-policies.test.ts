// Retries per phase (issue 17, item 5): a pipeline says how often each phase's tasks are tried
// and how many passes go over its failures — seed 001's ingestion 3 attempts, seed 002's "no
// automatic retry" — instead of one policy for every phase.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { definePipeline, type PipelineDefinition } from "../../src/pipelines/define";
import type { TaskView } from "../../src/types";
import { api, configureSample, registerPipeline, submit, waitForRun } from "../helpers";
import { POSTS, accountRequest, socialSource } from "../limits-pipelines";

/** One account's posts, one request a batch, failing whole at the first 503 (no retry inside the task). */
function onePage(name: string, retries: PipelineDefinition<{ tag: string }>["retries"]) {
  const pipeline = definePipeline({
    name,
    description: "one account's posts",
    params: z.object({ tag: z.string() }).strict(),
    source: socialSource(`${name}-api`),
    *plan(params) {
      yield { partition: `posts/${params.tag}`, data: { account: "601" } };
    },
    request: accountRequest,
    ...POSTS,
    maxAttempts: 5,
    retryPasses: 2,
    retries,
    window: (p) => ({ name: p.tag, hive: `tag=${p.tag}` }),
  });
  registerPipeline(pipeline);
  return pipeline;
}

const ingestTasks = async (id: string) => (await (await api(`/v1/jobs/${id}/tasks?phase=ingest`)).json<{ tasks: TaskView[] }>()).tasks;

describe("retries per phase", () => {
  it("tries ingest tasks as often as the ingest policy says, not the pipeline's default", async () => {
    const pipeline = onePage("retry-ingest-3", { ingest: { attempts: 3, passes: 0, backoff: { baseSeconds: 1, maxSeconds: 1 } } });
    expect(pipeline.retries.ingest).toEqual({ attempts: 3, passes: 0, backoff: { baseSeconds: 1, maxSeconds: 1 } });
    expect(pipeline.retries.silver).toEqual({ attempts: 5, passes: 2, backoff: { baseSeconds: 1, maxSeconds: 300 } });
    await configureSample({ faultRate: 1, faultKinds: ["5xx"] });
    const run = await waitForRun(await submit("retry-ingest-3", { tag: "a" }));
    expect(run.status).toBe("failed");
    expect((await ingestTasks(run.id)).map((t) => `${t.group} ${t.status} ${t.attempts}`)).toEqual(["initial failed 3"]);
  });

  it("gives ingest one attempt and one retry pass when the policy says so (seed 002's no automatic retry, then a pass)", async () => {
    onePage("retry-ingest-once", { ingest: { attempts: 1, passes: 1 } });
    await configureSample({ faultRate: 1, faultKinds: ["5xx"] });
    const run = await waitForRun(await submit("retry-ingest-once", { tag: "b" }));
    expect(run.status).toBe("failed");
    expect((await ingestTasks(run.id)).map((t) => `${t.group} ${t.status} ${t.attempts}`)).toEqual(["initial failed 1", "retry-1 failed 1"]);
  });

  it("refuses a policy for a phase that is not retried, or attempts out of range", () => {
    expect(() => onePage("retry-bad-phase", { quality: { attempts: 2 } } as never)).toThrow(/retries.quality: no such phase/);
    expect(() => onePage("retry-bad-attempts", { silver: { attempts: 0 } })).toThrow(/retries.silver.attempts must be a whole number from 1 to 100/);
  });
});
