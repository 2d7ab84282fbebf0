/**
 * What of a provider's error text may reach a client (issue 12): the text is
 * about the operator's account as often as about the request. OpenAI's 401
 * names the masked key (its prefix and last four characters), its 429 the
 * organisation id; Bedrock's errors carry account ids in ARNs; a network error
 * names the operator's Azure resource host. Errors about the gateway's own
 * credentials, billing or organisation are replaced by the gateway's own words
 * (the provider's go to the log); every other message keeps its meaning with
 * identifiers taken out.
 */
import type { UpstreamErrorDetail } from "./types.ts";

const IDENTIFIERS: ReadonlyArray<readonly [RegExp, string]> = [
  // API keys, masked or not: OpenAI (sk-…, sk-proj-…), Anthropic (sk-ant-…), Google (AIza…), xAI (xai-…), Groq (gsk_…).
  [/\b(?:sk|pk|rk)-[A-Za-z0-9_\-*.•]{3,}/g, "[key]"],
  [/\bAIza[0-9A-Za-z_-]{8,}/g, "[key]"],
  [/\b(?:xai|gsk|fw|pplx|nvapi)[-_][A-Za-z0-9_\-*.]{8,}/g, "[key]"],
  // Organisation, project and user ids (OpenAI: org-…, proj_…, user-…, 20+ characters): not words such as "user-provided".
  [/\b(?:org|proj|user|acct)[-_][A-Za-z0-9]{16,}\b/g, "[id]"],
  [/\barn:aws[A-Za-z0-9-]*:[^\s"',)]*/g, "[arn]"],
  // AWS account ids, Azure subscription ids.
  [/\b\d{12}\b/g, "[account]"],
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, "[id]"],
  [/\bhttps?:\/\/[^\s"'<>)]+/g, "[url]"],
  // Host names (a resource name in a DNS error): anything dotted that ends in a common provider domain.
  [/\b[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:azure\.com|amazonaws\.com|googleapis\.com|cloudflare\.com|windows\.net)\b/g, "[host]"],
];

/** Longest provider text passed on: error messages are short, and the patterns' work grows with the length. */
const MAX_TEXT = 2_000;

/** `text` with account identifiers, keys, URLs and hosts replaced by placeholders (and cut to MAX_TEXT characters). */
export function scrubIdentifiers(text: string): string {
  let out = text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text;
  for (const [pattern, placeholder] of IDENTIFIERS) out = out.replace(pattern, placeholder);
  return out;
}

/** Codes and types by which providers say the problem is the caller's account: its key, balance, plan or organisation. */
const ACCOUNT_WORDS = /(?:^|_)(?:auth\w*|api_key|invalid_key|billing|quota|insufficient|payment|credit|balance|account|organi[sz]ation|permission|unauthori[sz]ed|forbidden|deactivated|subscription)/i;

/**
 * Whether a provider's error is about the gateway's own account there (its key,
 * billing, quota or organisation), not the request: 401, 402 and 403, and any
 * status whose code or type says so (OpenAI's 429 `insufficient_quota`,
 * Anthropic's `billing_error`).
 */
export function aboutTheAccount(status: number, detail: UpstreamErrorDetail): boolean {
  if (status === 401 || status === 402 || status === 403) return true;
  return [detail.code, detail.type].some((word) => typeof word === "string" && ACCOUNT_WORDS.test(word));
}
