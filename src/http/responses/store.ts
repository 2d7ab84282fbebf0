/**
 * Responses the gateway made from providers other than OpenAI, kept so that
 * `previous_response_id` can continue them and `GET` / `DELETE
 * /v1/responses/{id}` (and `…/input_items`) serve them, as OpenAI does for its
 * own (issue 15). Each is one R2 object (RESPONSE_STORE) under
 * `yyyy/mm/dd/<key id>/<response id>.json`: the day leads, so the retention
 * cron drops whole days past RESPONSE_RETENTION_DAYS (30) the way it drops
 * request bodies, and the key id is in the path, so a key never reads another
 * key's responses. The id carries its day (`resp_sy<yyyymmdd><hex>`), so a
 * read needs no index; OpenAI's ids (hex only) never look like one.
 */
import type { Env } from "../../env.ts";
import { isObject, type Json } from "../../providers/json.ts";
import { decoder } from "../../streaming/bytes.ts";
import { GatewayError } from "../errors.ts";

const DAY_MS = 86_400_000;
const DEFAULT_RETENTION_DAYS = 30;
const STORED_ID = /^resp_sy(\d{4})(\d{2})(\d{2})[0-9a-f]{32}$/;

export interface StoredResponse {
  /** The response object as the client received it. */
  readonly response: Json;
  /** Every input item of the conversation up to this response (a previous response's included), as the model saw them. */
  readonly input: Json[];
}

export function retentionDays(env: Env): number {
  const days = Number(env.RESPONSE_RETENTION_DAYS);
  return Number.isInteger(days) && days > 0 ? days : DEFAULT_RETENTION_DAYS;
}

/** A new id for a response the gateway keeps: its day, then 128 random bits. */
export function storedResponseId(now: number): string {
  const day = new Date(now).toISOString().slice(0, 10).replaceAll("-", "");
  return `resp_sy${day}${crypto.randomUUID().replaceAll("-", "")}`;
}

export const isStoredId = (id: string): boolean => STORED_ID.test(id);

function objectKey(keyId: string, id: string): string | null {
  const m = STORED_ID.exec(id);
  return m === null ? null : `${m[1]}/${m[2]}/${m[3]}/${keyId}/${id}.json`;
}

export function responseStore(env: Env): R2Bucket | null {
  return env.RESPONSE_STORE ?? null;
}

export async function saveResponse(bucket: R2Bucket, keyId: string, stored: StoredResponse): Promise<void> {
  const key = objectKey(keyId, String(stored.response.id));
  if (key === null) return;
  await bucket.put(key, JSON.stringify(stored), { httpMetadata: { contentType: "application/json" } });
}

/** A stored response of `keyId`, or null: none with that id, another key's, or past retention. */
export async function loadResponse(env: Env, keyId: string, id: string): Promise<StoredResponse | null> {
  const bucket = responseStore(env);
  const key = objectKey(keyId, id);
  if (bucket === null || key === null) return null;
  const started = Date.parse(`${key.slice(0, 10).replaceAll("/", "-")}T00:00:00Z`);
  if (Date.now() - started > (retentionDays(env) + 1) * DAY_MS) return null;
  const object = await bucket.get(key);
  if (object === null) return null;
  const parsed: unknown = JSON.parse(await object.text());
  if (!isObject(parsed) || !isObject(parsed.response) || !Array.isArray(parsed.input)) return null;
  return { response: parsed.response, input: parsed.input.filter(isObject) };
}

export async function deleteResponse(env: Env, keyId: string, id: string): Promise<boolean> {
  const bucket = responseStore(env);
  const key = objectKey(keyId, id);
  if (bucket === null || key === null || (await bucket.head(key)) === null) return false;
  await bucket.delete(key);
  return true;
}

export const responseNotFound = (id: string): GatewayError =>
  new GatewayError(404, `No response with id '${id}' is stored for this key (responses are kept 30 days; OpenAI's own are read from OpenAI).`, { code: "response_not_found", param: "response_id" });

/**
 * The items a continued conversation starts with: the stored input, then the
 * stored output as input (without item ids, which only the gateway knows, and
 * without reasoning summaries, which are not the provider's signed reasoning).
 */
export function historyOf(stored: StoredResponse): Json[] {
  const output = Array.isArray(stored.response.output) ? stored.response.output.filter(isObject) : [];
  const replayed = output.filter((item) => item.type !== "reasoning").map(({ id: _id, status: _status, ...item }) => item);
  return [...stored.input, ...replayed];
}

/** A request's `input` as items (a string is one user message). */
export function inputItems(input: unknown): Json[] {
  if (typeof input === "string") return [{ type: "message", role: "user", content: input }];
  return Array.isArray(input) ? input.filter(isObject) : [];
}

/**
 * Responses OpenAI keeps for this gateway's one OpenAI account are tied to the gateway key that
 * made them (an empty R2 object, `openai/<key id>/<response id>`), so that no other key can
 * continue one by its id. Without RESPONSE_STORE no tie can be kept, and any key's id is taken.
 */
const ownerKey = (keyId: string, id: string): string => `openai/${keyId}/${id}`;
const OPENAI_ID = /^[A-Za-z0-9_-]{1,200}$/;

export async function recordOpenAIResponse(env: Env, keyId: string, id: string): Promise<void> {
  const bucket = responseStore(env);
  if (bucket !== null && OPENAI_ID.test(id)) await bucket.put(ownerKey(keyId, id), "");
}

export async function ownsOpenAIResponse(env: Env, keyId: string, id: string): Promise<boolean> {
  const bucket = responseStore(env);
  if (bucket === null) return true;
  if (!OPENAI_ID.test(id)) return false;
  const head = await bucket.head(ownerKey(keyId, id));
  return head !== null && Date.now() - head.uploaded.getTime() <= retentionDays(env) * DAY_MS;
}

/** Drops ties older than the retention (OpenAI keeps its responses 30 days): a page of 1,000 at a time, at most `pages`. */
export async function pruneOpenAIOwners(env: Env, now: number, pages = 20): Promise<number> {
  const bucket = responseStore(env);
  if (bucket === null) return 0;
  let deleted = 0;
  let cursor: string | undefined;
  for (let page = 0; page < pages; page++) {
    const listed = await bucket.list({ prefix: "openai/", limit: 1_000, ...(cursor !== undefined && { cursor }) });
    const old = listed.objects.filter((o) => now - o.uploaded.getTime() > retentionDays(env) * DAY_MS).map((o) => o.key);
    if (old.length > 0) await bucket.delete(old);
    deleted += old.length;
    if (!listed.truncated) break;
    cursor = listed.cursor;
  }
  return deleted;
}

/** The id at the start of a native answer (OpenAI writes `{"id":"resp_…"` first), or null. */
export function rootResponseId(bytes: Uint8Array): string | null {
  const head = decoder.decode(bytes.subarray(0, 512));
  return /^\s*\{\s*"id"\s*:\s*"([A-Za-z0-9_-]{1,200})"/.exec(head)?.[1] ?? null;
}
