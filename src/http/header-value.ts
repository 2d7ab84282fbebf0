/**
 * Header values the gateway sets from text it does not control (a model name
 * from a client or a route, a provider's words, an end-user id): `Headers.set`
 * throws on a CR, an LF, a NUL or a character above U+00FF, and a throw after
 * the provider has answered turns a charged answer into a 500. So every such
 * value passes through here: printable ASCII stays as it is (the common case,
 * checked by one regex), anything else is percent-encoded as UTF-8, and the
 * value is cut to a length no proxy refuses.
 */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const MAX_HEADER_VALUE = 1024;

export function headerSafe(value: string): string {
  const cut = value.length > MAX_HEADER_VALUE ? value.slice(0, MAX_HEADER_VALUE) : value;
  if (PRINTABLE_ASCII.test(cut)) return cut;
  return cut.replace(/[^\x20-\x7e]/gu, (char) => {
    try {
      return encodeURIComponent(char);
    } catch {
      return "%EF%BF%BD"; // a lone surrogate: U+FFFD, as a decoder would read it
    }
  });
}

/** `entries` as Headers, every value made safe. */
export function safeHeaders(entries: Readonly<Record<string, string>>): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(entries)) headers.set(name, headerSafe(value));
  return headers;
}
