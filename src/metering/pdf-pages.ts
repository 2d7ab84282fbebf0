/**
 * How many pages an inline PDF has, read from its bytes: a PDF's bytes do not
 * bound its tokens (Anthropic renders each page as an image beside its text,
 * Gemini bills 258 tokens a page; a few kilobytes of compressed PDF can hold a
 * hundred pages), but its page count does. Every page is an object of
 * `/Type /Page`, and page tree nodes carry the `/Count` of the pages below
 * them; in PDF 1.5 and later those objects may sit in compressed object
 * streams, which are inflated to look inside. The count errs high (an object
 * that is not in the page tree still counts, and so does any larger `/Count`);
 * null when it cannot be read (no page object found, an object stream that
 * cannot be inflated, name escapes that could hide a type).
 */

/** A page object's type (not `/Pages`, `/PageLabel`, …). */
const PAGE_TYPE = /\/Type\s*\/Page(?![A-Za-z0-9#])/g;
const COUNT = /\/Count\s+(\d{1,9})/g;
/** A `#xx` escape in a name next to `/Type`, which a reader would decode (`/Pa#67e` is `/Page`). */
const ESCAPED_TYPE = /\/Type\s*\/[^\s/<>[\]()]*#/;
const OBJECT_STREAM = /\/Type\s*\/ObjStm\b/;
/** The most bytes inflated from one PDF's object streams: beyond it the count is given up rather than the memory. */
const MAX_INFLATED_BYTES = 16 * 1024 * 1024;

/** The largest page count the bytes show: page objects, or the largest `/Count` of a page tree node. */
function countIn(text: string): number {
  let pages = 0;
  for (const _ of text.matchAll(PAGE_TYPE)) pages++;
  let counted = 0;
  for (const m of text.matchAll(COUNT)) counted = Math.max(counted, Number(m[1]));
  return Math.max(pages, counted);
}

/** The decoded bytes of a base64 text (whitespace allowed), as a binary string; null when it is not base64. */
function decodeBase64(data: string): string | null {
  try {
    return atob(data.replace(/\s+/g, ""));
  } catch {
    return null;
  }
}

/** Inflates one zlib stream (`/FlateDecode`) up to `limit` bytes; null when it is not one or is larger. */
async function inflate(binary: string, limit: number): Promise<string | null> {
  const bytes = Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  const reader = stream.getReader();
  const out: string[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel();
        return null;
      }
      out.push(String.fromCharCode(...value));
    }
  } catch {
    return null;
  }
  return out.join("");
}

/** The contents of every object stream (`/Type /ObjStm`), inflated; null when one cannot be. */
async function objectStreams(pdf: string): Promise<string[] | null> {
  const found: string[] = [];
  let budget = MAX_INFLATED_BYTES;
  const streamStart = /stream\r?\n/g;
  let from = 0;
  for (;;) {
    const at = pdf.indexOf("/ObjStm", from);
    if (at === -1) return found;
    streamStart.lastIndex = at;
    const start = streamStart.exec(pdf);
    const end = start === null ? -1 : pdf.indexOf("endstream", start.index);
    if (start === null || end === -1) return null;
    const dictionary = pdf.slice(Math.max(0, pdf.lastIndexOf("<<", at)), start.index);
    if (!/\/FlateDecode\b/.test(dictionary) || /\/DecodeParms|\/Predictor/.test(dictionary)) return null;
    // The data is /Length bytes when that is a number; else up to the end-of-line before `endstream`.
    const from0 = start.index + start[0].length;
    const length = /\/Length\s+(\d+)\b(?!\s+\d+\s+R)/.exec(dictionary);
    const data = length !== null ? pdf.slice(from0, from0 + Number(length[1])) : pdf.slice(from0, end).replace(/\r?\n?$/, "");
    const inflated = await inflate(data, budget);
    if (inflated === null) return null;
    budget -= inflated.length;
    found.push(inflated);
    from = end;
  }
}

/** The page count of a base64 PDF, or null when its bytes do not tell it reliably. */
export async function pdfPages(base64: string): Promise<number | null> {
  const pdf = decodeBase64(base64);
  if (pdf === null || !pdf.startsWith("%PDF")) return null;
  if (ESCAPED_TYPE.test(pdf)) return null;
  let pages = countIn(pdf);
  if (OBJECT_STREAM.test(pdf)) {
    const inner = await objectStreams(pdf);
    if (inner === null) return null;
    for (const text of inner) {
      if (ESCAPED_TYPE.test(text)) return null;
      pages = Math.max(pages, countIn(text));
    }
  }
  return pages > 0 ? pages : null;
}
