/**
 * AWS Signature Version 4 for request headers, on WebCrypto (no SDK, no
 * dependency). Written from AWS's "Create a signed AWS API request" guide and
 * checked against its published test suite (test/unit/bedrock-sigv4.test.ts).
 */
import { encoder } from "../../streaming/bytes.ts";

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Temporary credentials (STS) carry a session token, sent as `x-amz-security-token` and signed. */
  readonly sessionToken?: string | undefined;
}

export interface SigningRequest {
  readonly method: string;
  readonly url: URL;
  /** Header names in any case; `host` is taken from the URL when absent. */
  readonly headers: Headers;
  readonly body: string | Uint8Array;
  readonly region: string;
  readonly service: string;
  readonly now: Date;
}

const hex = (bytes: ArrayBuffer): string => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

async function sha256Hex(data: string | Uint8Array): Promise<string> {
  return hex(await crypto.subtle.digest("SHA-256", typeof data === "string" ? encoder.encode(data) : data));
}

const hmacKey = (raw: ArrayBuffer | Uint8Array): Promise<CryptoKey> =>
  crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);

async function hmac(key: ArrayBuffer | Uint8Array | CryptoKey, data: string): Promise<ArrayBuffer> {
  return crypto.subtle.sign("HMAC", key instanceof CryptoKey ? key : await hmacKey(key), encoder.encode(data));
}

/**
 * Signing keys by secret, day, region and service. A key is good for a whole
 * UTC day, so deriving it (four HMACs, each importing a key) for every request
 * is waste on the hot path. A handful of entries covers every credential and
 * region an isolate signs for; the oldest goes first past that. The keys are
 * kept, not the promises of them: a promise begun in one request and awaited
 * in another ties the second to the first (workerd warns of it, and it hangs
 * if the first is cancelled); two requests racing derive the key twice, harmlessly.
 */
const SIGNING_KEYS = new Map<string, CryptoKey>();
const SIGNING_KEYS_MAX = 16;

async function signingKey(secretAccessKey: string, day: string, region: string, service: string): Promise<CryptoKey> {
  const id = `${secretAccessKey}\n${day}\n${region}\n${service}`;
  const cached = SIGNING_KEYS.get(id);
  if (cached !== undefined) return cached;
  let raw = await hmac(encoder.encode(`AWS4${secretAccessKey}`), day);
  for (const part of [region, service, "aws4_request"]) raw = await hmac(raw, part);
  const key = await hmacKey(raw);
  const oldest = SIGNING_KEYS.keys().next().value;
  if (SIGNING_KEYS.size >= SIGNING_KEYS_MAX && oldest !== undefined) SIGNING_KEYS.delete(oldest);
  SIGNING_KEYS.set(id, key);
  return key;
}

/** RFC 3986 encoding, as SigV4 wants it: everything but `A-Za-z0-9-._~` becomes `%XX` (upper-case). */
export function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Services other than S3 sign the path encoded once more on top of how it
 * travels: each segment of `/model/x%3A0/converse` becomes `x%253A0`.
 */
export function canonicalUri(path: string): string {
  return path.length === 0 ? "/" : path.split("/").map(uriEncode).join("/");
}

export function canonicalQuery(search: URLSearchParams): string {
  const pairs = [...search].map(([k, v]) => [uriEncode(k), uriEncode(v)] as const);
  pairs.sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join("&");
}

/** `20150830T123600Z` */
export const amzDate = (now: Date): string => now.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");

/**
 * Sets `x-amz-date`, `x-amz-security-token` (with session credentials) and
 * `authorization` on `request.headers`; every header present is signed.
 */
export async function signRequest(request: SigningRequest, credentials: AwsCredentials): Promise<void> {
  const { headers } = request;
  const date = amzDate(request.now);
  const day = date.slice(0, 8);
  headers.set("x-amz-date", date);
  if (!headers.has("host")) headers.set("host", request.url.host);
  if (credentials.sessionToken !== undefined) headers.set("x-amz-security-token", credentials.sessionToken);

  // Headers iterate lower-cased and sorted; values are trimmed, inner runs of spaces folded.
  const names: string[] = [];
  let canonicalHeaders = "";
  for (const [name, value] of headers) {
    if (name === "authorization") continue;
    names.push(name);
    canonicalHeaders += `${name}:${value.trim().replace(/\s+/g, " ")}\n`;
  }
  const signedHeaders = names.join(";");
  const canonicalRequest = [
    request.method,
    canonicalUri(request.url.pathname),
    canonicalQuery(request.url.searchParams),
    canonicalHeaders,
    signedHeaders,
    await sha256Hex(request.body),
  ].join("\n");
  const scope = `${day}/${request.region}/${request.service}/aws4_request`;
  const stringToSign = `AWS4-HMAC-SHA256\n${date}\n${scope}\n${await sha256Hex(canonicalRequest)}`;

  const key = await signingKey(credentials.secretAccessKey, day, request.region, request.service);
  const signature = hex(await hmac(key, stringToSign));
  headers.set("authorization", `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`);
}
