// A flow's graph, free of storage: the order its steps can run in (refusing cycles), which steps
// a run starts or gives up on as its steps end, and how it ends. The flow coordinator applies
// these to its tables; tests replay them directly.
import type { FlowStatus, StepStatus } from "./statuses";

/** A step as the graph sees it: its name and the steps it comes after. */
interface Edges {
  name: string;
  after: string[];
}

/** The steps in an order where each comes after every step it needs; throws on a cycle, naming it. */
export function stepOrder<S extends Edges>(flow: string, steps: S[]): S[] {
  const byName = new Map(steps.map((s) => [s.name, s]));
  const placed = new Set<string>();
  const visiting: string[] = [];
  const order: S[] = [];
  const visit = (step: S) => {
    if (placed.has(step.name)) return;
    if (visiting.includes(step.name)) {
      const cycle = [...visiting.slice(visiting.indexOf(step.name)), step.name];
      throw new Error(`flow ${flow}: its steps wait on each other (${cycle.join(" → ")}): a cycle never runs`);
    }
    visiting.push(step.name);
    for (const a of step.after) visit(byName.get(a)!);
    visiting.pop();
    placed.add(step.name);
    order.push(step);
  };
  steps.forEach(visit);
  return order;
}

/** Each step's depth: 0 for a step that needs nothing, else one more than the deepest it needs (the dashboard's columns). */
export function depths(steps: Edges[]): Map<string, number> {
  const depth = new Map<string, number>();
  for (const s of stepOrder("", steps)) depth.set(s.name, Math.max(-1, ...s.after.map((a) => depth.get(a)!)) + 1);
  return depth;
}

const NOT_SUCCEEDED: readonly StepStatus[] = ["failed", "upstream_failed", "cancelled"];
const OPEN: readonly StepStatus[] = ["waiting", "running", "retrying"];

export interface Progress {
  /** Waiting steps whose every `after` succeeded: start them now. */
  start: string[];
  /** Waiting steps a step they need did not succeed: they will never run. */
  blocked: string[];
  /** How the run ends when nothing is left open, else null. */
  outcome: Extract<FlowStatus, "succeeded" | "failed"> | null;
}

/** What a flow run does next, given its steps' statuses (in `steps`' order). */
export function progress(steps: Edges[], status: ReadonlyMap<string, StepStatus>): Progress {
  const now = new Map(status);
  const start: string[] = [];
  const blocked: string[] = [];
  for (const s of stepOrder("", steps)) {
    if (now.get(s.name) !== "waiting") continue;
    if (s.after.some((a) => NOT_SUCCEEDED.includes(now.get(a)!))) {
      blocked.push(s.name);
      now.set(s.name, "upstream_failed"); // later steps that need it are blocked in the same pass
    } else if (s.after.every((a) => now.get(a) === "succeeded")) start.push(s.name);
  }
  const open = [...now.values()].some((v) => OPEN.includes(v));
  const outcome = open ? null : [...now.values()].every((v) => v === "succeeded") ? "succeeded" : "failed";
  return { start, blocked, outcome };
}
