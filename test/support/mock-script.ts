/**
 * Registers mock options for every upstream request whose raw body contains
 * `match` (POST /__mock/script): the way to inject faults for providers whose
 * API takes no `mock` body field. No Node imports: the workerd tests use it too.
 */
export async function scriptMock(mockUrl: string, match: string, mock: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${mockUrl}/__mock/script`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ match, mock }) });
  if (!res.ok) throw new Error(`the mock refused the script (${res.status}): ${await res.text()}`);
}
