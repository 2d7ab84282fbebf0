/**
 * The JSON carried by one SSE event's `data:` lines (joined with newlines, as
 * the SSE spec says), or undefined when there is none or it is not JSON.
 */
export function sseEventJson(event: string): unknown {
  const lines: string[] = [];
  for (const line of event.split(/\r?\n/)) {
    if (line.startsWith("data:")) lines.push(line.slice(line.charCodeAt(5) === 0x20 ? 6 : 5));
  }
  if (lines.length === 0) return undefined;
  try {
    return JSON.parse(lines.join("\n"));
  } catch {
    return undefined;
  }
}
