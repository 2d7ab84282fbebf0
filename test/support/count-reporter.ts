/**
 * A node:test reporter that only counts, so scripts/test.ts can add the
 * end-to-end results to vitest's and print one "N passed, N failed" line.
 */
interface ReporterEvent {
  type: string;
  data?: { details?: { type?: string }; skip?: unknown; todo?: unknown };
}

export default async function* countReporter(source: AsyncIterable<ReporterEvent>): AsyncGenerator<string> {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for await (const event of source) {
    if (event.data?.details?.type === "suite") continue;
    if (event.type === "test:pass") {
      if (event.data?.skip !== undefined || event.data?.todo !== undefined) skipped++;
      else passed++;
    } else if (event.type === "test:fail") {
      failed++;
    }
  }
  yield `${JSON.stringify({ passed, failed, skipped })}\n`;
}
