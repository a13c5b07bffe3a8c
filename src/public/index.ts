// The package's main entry ("sluice"): what a deployment's own Worker and pipelines import.
//   import { createSluice, definePipeline } from "sluice";
export { createSluice, type Sluice, type SluiceOptions } from "../sluice";
export { Catalog } from "../catalog";
export type { Env } from "../env";
export { halveByKeys } from "../pipelines/split";
export { defineDerivedPipeline, type DerivedDefinition, type DerivedInput } from "../pipelines/derived";
export {
  definePipeline,
  type Pipeline,
  type PipelineDefinition,
  type PlanContext,
  type PlannedBatch,
  type Source,
  type UpstreamRequest,
} from "../pipelines/define";
export type { LimitWindow, RateLimit, Duration } from "../upstream/limits";
export type { Schedule, Compaction, ScheduleWindow, Trigger, DateWindow } from "../pipelines/schedule";
export {
  defineFlow,
  type Flow,
  type FlowDefinition,
  type FlowStepDefinition,
  type FlowSchedule,
  type FlowNotify,
  type FlowEvent,
  type FlowStatus,
  type StepStatus,
} from "../flows/define";
export type { FlowRunView, FlowStepView, FlowState } from "../flows/views";
export { windowOf, windows, isoDate, nextBoundary, CHUNKS, type Chunk, type RunWindow } from "../pipelines/windows";
export { parseJsonRecords, parseNdjson, parseCsv, atPath } from "../parsers/records";
export { coverageJsonRows, coverageJsonStream, parseCoverageJson, type CoverageJsonOptions } from "../parsers/coveragejson";
export { jsonItems } from "../parsers/json-items";
export { cursorPagination, offsetPagination, linkPagination, type Page, type Paginate } from "../upstream/pagination";
export { check, type QualityCheck, type Severity } from "../quality/checks";
export { sluiceClient, type SluiceClient } from "../client";
export { configProblems, cronsFor, type WranglerConfig } from "../wrangler-config";
export type { Json, RunView, RunSummary, RunStatus, TaskView, Usage, RunUsage, Cost, CostLine } from "../types";
export { costOf } from "../costs/usage";
export { PRICES } from "../costs/prices";
export type { ColumnSpec, Row } from "../arrow/columns";
