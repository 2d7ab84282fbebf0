// An in-memory KV namespace for running the gateway on the bare `workerd` binary.
//
// A `kvNamespace` binding in a workerd config turns every KV call the Worker makes
// into an HTTP request to the service named by the binding. This Worker is such a
// service. The protocol (as workerd speaks it, host "fake-host"):
//
//   get(key, { cacheTtl })  GET    /<key>?urlencoded=true[&cache_ttl=N]
//                             200 + value bytes (+ CF-Expiration, CF-KV-Metadata headers), 404 if absent
//   get([k1, k2], opts)     POST   /bulk/get   body {"keys":[...],"type":"text"|"json","withMetadata":bool}
//                             200 + {"k1": value-or-null, ...} (value is {value, metadata} withMetadata)
//   put(key, v, opts)       PUT    /<key>?urlencoded=true[&expiration=S|&expiration_ttl=S]
//                             body = value, CF-KV-Metadata header = JSON metadata
//   delete(key)             DELETE /<key>?urlencoded=true
//   list({prefix, limit, cursor})  GET /?prefix=..&key_count_limit=..&cursor=..
//                             200 + {"keys":[{name, expiration?, metadata?}], "list_complete", "cursor"?}
//                             (metadata is a JSON-serialised string here, which workerd parses)
//
// Keys are percent-encoded in the path when `urlencoded=true`. The store is one
// Map per isolate: it starts empty and lives as long as the workerd process.
// Only the benchmark uses this; it is not part of the gateway.

/** @typedef {{ value: Uint8Array, expiration: number | undefined, metadata: string | undefined }} Entry */

/** @type {Map<string, Entry>} */
const store = new Map();

const MAX_LIST_KEYS = 1000;
const MIN_EXPIRATION_TTL_SECONDS = 60;

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** @param {string} key @returns {Entry | undefined} */
function live(key) {
  const entry = store.get(key);
  if (entry === undefined) return undefined;
  if (entry.expiration !== undefined && entry.expiration <= nowSeconds()) {
    store.delete(key);
    return undefined;
  }
  return entry;
}

/** @param {number} status @param {string} message */
const error = (status, message) => new Response(message, { status, statusText: message });

/** @param {URL} url @returns {string | Response} */
function keyOf(url) {
  const raw = url.pathname.slice(1);
  let key = raw;
  if (url.searchParams.get("urlencoded")?.toLowerCase() === "true") {
    try {
      key = decodeURIComponent(raw);
    } catch {
      return error(400, "Could not URL-decode key name");
    }
  }
  if (key === "") return error(400, "Key names must not be empty");
  return key;
}

/** @param {string} key */
function get(key) {
  const entry = live(key);
  if (entry === undefined) return error(404, "Not Found");
  const headers = new Headers();
  if (entry.expiration !== undefined) headers.set("CF-Expiration", String(entry.expiration));
  if (entry.metadata !== undefined) headers.set("CF-KV-Metadata", entry.metadata);
  return new Response(entry.value, { headers });
}

/** @param {Request} request @param {URL} url @param {string} key */
async function put(request, url, key) {
  let expiration;
  const ttl = url.searchParams.get("expiration_ttl");
  const at = url.searchParams.get("expiration");
  if (ttl !== null) {
    const seconds = Number.parseInt(ttl, 10);
    if (!(seconds >= MIN_EXPIRATION_TTL_SECONDS)) return error(400, `Invalid expiration_ttl of ${ttl}`);
    expiration = nowSeconds() + seconds;
  } else if (at !== null) {
    const seconds = Number.parseInt(at, 10);
    if (!(seconds >= nowSeconds() + MIN_EXPIRATION_TTL_SECONDS)) return error(400, `Invalid expiration of ${at}`);
    expiration = seconds;
  }
  const metadata = request.headers.get("CF-KV-Metadata") ?? undefined;
  if (metadata !== undefined) {
    try {
      JSON.parse(metadata);
    } catch {
      return error(400, "Metadata is not valid JSON");
    }
  }
  const value = new Uint8Array(await request.arrayBuffer());
  store.set(key, { value, expiration, metadata });
  return new Response(null);
}

/** @param {URL} url */
function list(url) {
  const prefix = url.searchParams.get("prefix") ?? "";
  const limitParam = url.searchParams.get("key_count_limit");
  const limit = limitParam === null ? MAX_LIST_KEYS : Number.parseInt(limitParam, 10);
  if (!(limit >= 1 && limit <= MAX_LIST_KEYS)) return error(400, `Invalid key_count_limit of ${limitParam}`);
  const cursorParam = url.searchParams.get("cursor");
  // The cursor is the last key of the previous page (base64 of its UTF-8 bytes).
  let after = "";
  if (cursorParam !== null && cursorParam !== "") {
    try {
      const bytes = Uint8Array.from(atob(cursorParam), (c) => c.charCodeAt(0));
      after = new TextDecoder().decode(bytes);
    } catch {
      return error(400, "Invalid cursor");
    }
  }
  const names = [...store.keys()]
    .filter((name) => name.startsWith(prefix) && name > after && live(name) !== undefined)
    .sort();
  const page = names.slice(0, limit);
  const keys = page.map((name) => {
    const entry = /** @type {Entry} */ (store.get(name));
    /** @type {{ name: string, expiration?: number, metadata?: string }} */
    const item = { name };
    if (entry.expiration !== undefined) item.expiration = entry.expiration;
    if (entry.metadata !== undefined) item.metadata = entry.metadata;
    return item;
  });
  if (names.length <= limit) return Response.json({ keys, list_complete: true, cacheStatus: null });
  const last = new TextEncoder().encode(page[page.length - 1]);
  const cursor = btoa(String.fromCharCode(...last));
  return Response.json({ keys, list_complete: false, cursor, cacheStatus: null });
}

/** @param {Request} request */
async function bulkGet(request) {
  /** @type {{ keys?: unknown, type?: unknown, withMetadata?: unknown }} */
  let body;
  try {
    body = await request.json();
  } catch {
    return error(400, "Invalid JSON body");
  }
  const keys = body.keys;
  if (!Array.isArray(keys) || keys.length < 1 || keys.length > 100) return error(400, "Between 1 and 100 keys");
  const type = body.type ?? "text";
  if (type !== "text" && type !== "json") return error(400, `"${String(type)}" is not a valid type`);
  /** @type {Record<string, unknown>} */
  const result = {};
  for (const key of keys) {
    const entry = live(String(key));
    if (entry === undefined) {
      result[String(key)] = null;
      continue;
    }
    const text = new TextDecoder().decode(entry.value);
    let value;
    try {
      value = type === "json" ? JSON.parse(text) : text;
    } catch {
      return error(400, "At least one of the requested keys corresponds to a non-json value");
    }
    result[String(key)] =
      body.withMetadata === true
        ? { value, metadata: entry.metadata === undefined ? null : JSON.parse(entry.metadata) }
        : value;
  }
  return Response.json(result);
}

export default {
  /** @param {Request} request */
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/bulk/get" && request.method === "POST") return bulkGet(request);
    if (url.pathname === "/" || url.pathname === "") {
      return request.method === "GET" ? list(url) : error(405, "Method Not Allowed");
    }
    const key = keyOf(url);
    if (key instanceof Response) return key;
    switch (request.method) {
      case "GET":
        return get(key);
      case "PUT":
        return put(request, url, key);
      case "DELETE":
        store.delete(key);
        return new Response(null);
      default:
        return error(405, "Method Not Allowed");
    }
  },
};
