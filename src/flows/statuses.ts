// The statuses of a flow run and of its steps (what the graph, the coordinator and the views share).
export const FLOW_STATUSES = ["queued", "running", "succeeded", "failed", "timed_out", "cancelled"] as const;
export type FlowStatus = (typeof FLOW_STATUSES)[number];
export const TERMINAL_FLOW_STATUSES: readonly FlowStatus[] = ["succeeded", "failed", "timed_out", "cancelled"];

/**
 * A step's state in one flow run: `waiting` for the steps it comes after; `retrying` until its
 * next attempt is due; `upstream_failed` when a step it needs did not succeed (it never ran).
 */
export const STEP_STATUSES = ["waiting", "running", "retrying", "succeeded", "failed", "upstream_failed", "cancelled"] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];
