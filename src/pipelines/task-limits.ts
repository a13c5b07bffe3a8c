// How much one refine or silver task may hold. Measured (npm run bench, section 6): both keep
// every row of their batch as objects, about 300–330 bytes per row of the weather schema at their
// peak, so 281,088 rows took 86–90 MiB above the isolate's baseline and 878,400 rows 166–221 MiB:
// past a Worker's 128 MB. CPU stays far inside its 30 s (7.3 s for 878,400 rows in silver), so
// memory is the bound. Pipelines refuse plans whose batches could exceed this many rows.
export const MAX_ROWS_PER_TASK = 250_000;

/** The 400 message for a plan whose batches would hold more rows than a task may. */
export function tooManyRowsPerTask(rows: number, hint: string): string {
  return `a batch would hold up to ${rows} rows; a task keeps under ${MAX_ROWS_PER_TASK} so refine and silver fit a Worker's 128 MB memory (README, Limits): ${hint}`;
}
