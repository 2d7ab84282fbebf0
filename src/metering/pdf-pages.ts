/**
 * How many pages inline PDFs can have, read from their bytes: a PDF's bytes do
 * not bound its tokens (Anthropic renders each page as an image beside its
 * text, Gemini bills 258 tokens a page; a few kilobytes of compressed PDF can
 * hold a hundred pages), but its pages do.
 *
 * A reader finds pages through the page tree: every page (and every inner node)
 * is an entry of some `/Kids` array, and a reader renders at most one page per
 * entry it follows (pdf.js and pdfium take any entry without kids of its own as
 * a page, listed as often as it is listed). So the entries of all `/Kids`
 * arrays in the file, its compressed object streams included, bound the pages
 * from above, whatever `/Type` and `/Count` claim. The bound is trusted only
 * while the syntax that could hide entries from a plain reading is absent:
 * every `/Kids` must be a plain array of `n g R` references (no dictionary
 * written in place, no comment, string or odd separator inside, not a
 * reference to an array), no name this reading relies on may be spelled with
 * `#xx` escapes, and every object stream must inflate. Otherwise null: the
 * context window bounds the input.
 */

/** Bytes as a string of one character each (PDF syntax is ASCII; the rest only needs to keep its length). */
const LATIN1 = new TextDecoder("latin1");
/** The most compressed and inflated bytes of object streams one request reads: beyond it the count is given up rather than the time. */
const MAX_STREAM_BYTES = 4 * 1024 * 1024;
/** The most object streams one request reads. */
const MAX_OBJECT_STREAMS = 256;
/** How far before `/First` an object stream's dictionary may open. */
const MAX_DICTIONARY_BYTES = 4 * 1024;

/** A name written with a `#xx` escape (`/K#69ds` is `/Kids`), which a reader decodes and a plain match would miss. */
const ESCAPED_NAME = /\/[^\s/<>[\]()%{}]*#[0-9A-Fa-f]{2}[^\s/<>[\]()%{}]*/g;
/** The names this reading relies on: one spelled with escapes could hide a page tree or an object stream. */
const RELIED_ON = new Set(["/Kids", "/First", "/Length", "/Filter", "/FlateDecode", "/DecodeParms", "/Predictor"]);
/** More escaped names than this (compressed data makes a few by chance) and the file is not read. */
const MAX_ESCAPED_NAMES = 100_000;

/** Whether an escaped name in `text` spells one of the names this reading relies on (or there are too many to check). */
function hidesAName(text: string): boolean {
  if (!text.includes("#")) return false;
  let seen = 0;
  for (const m of text.matchAll(ESCAPED_NAME)) {
    if (++seen > MAX_ESCAPED_NAMES) return true;
    if (RELIED_ON.has(m[0].replace(/#([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))))) return true;
  }
  return false;
}
const KIDS = /\/Kids/g;
/** A `/Kids` entry as a plain array of references and nothing else, read where `/Kids` stands. */
const PLAIN_KIDS = /\/Kids[ \t\r\n]*\[((?:[ \t\r\n]*\d+[ \t\r\n]+\d+[ \t\r\n]+R)*)[ \t\r\n]*\]/y;
const REFERENCE = /\d+[ \t\r\n]+\d+[ \t\r\n]+R/g;

/** What may still be read for this request. */
interface Budget {
  bytes: number;
  streams: number;
}

/** The entries of every `/Kids` array in `text`, or null when one is not a plain array of references (or hides behind escapes). */
function kidsEntries(text: string): number | null {
  if (hidesAName(text)) return null;
  let entries = 0;
  for (const m of text.matchAll(KIDS)) {
    PLAIN_KIDS.lastIndex = m.index;
    const plain = PLAIN_KIDS.exec(text);
    if (plain === null) return null;
    entries += (plain[1] ?? "").match(REFERENCE)?.length ?? 0;
  }
  return entries;
}

/** The decoded bytes of a base64 text (whitespace allowed), as a binary string; null when it is not base64. */
function decodeBase64(data: string): string | null {
  try {
    return atob(data.replace(/\s+/g, ""));
  } catch {
    return null;
  }
}

/** Inflates one zlib stream (`/FlateDecode`) within the budget; null when it is not one or does not fit. */
async function inflate(binary: string, budget: Budget): Promise<string | null> {
  budget.bytes -= binary.length;
  if (budget.bytes < 0) return null;
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  const reader = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate")).getReader();
  const out: string[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      budget.bytes -= value.byteLength;
      if (budget.bytes < 0) {
        await reader.cancel();
        return null;
      }
      out.push(LATIN1.decode(value));
    }
  } catch {
    return null;
  }
  return out.join("");
}

/**
 * The `/Kids` entries inside the file's object streams: every stream whose dictionary has `/First`
 * (an object stream's required key, whatever its `/Type` says), inflated. Null when one cannot be.
 */
async function entriesInObjectStreams(pdf: string, budget: Budget): Promise<number | null> {
  const streamStart = /stream\r?\n/g;
  let entries = 0;
  let from = 0;
  for (;;) {
    const at = pdf.indexOf("/First", from);
    if (at === -1) return entries;
    if (--budget.streams < 0) return null;
    streamStart.lastIndex = at;
    const start = streamStart.exec(pdf);
    const end = start === null ? -1 : pdf.indexOf("endstream", start.index);
    const open = pdf.lastIndexOf("<<", at);
    if (start === null || end === -1 || open === -1 || at - open > MAX_DICTIONARY_BYTES) return null;
    const dictionary = pdf.slice(open, start.index);
    if (!/\/FlateDecode\b/.test(dictionary) || /\/DecodeParms|\/Predictor/.test(dictionary)) return null;
    // The data is /Length bytes when that is a number; else up to the end-of-line before `endstream`.
    const dataStart = start.index + start[0].length;
    const length = /\/Length[ \t\r\n]+(\d+)\b(?![ \t\r\n]+\d+[ \t\r\n]+R)/.exec(dictionary);
    const data = length !== null ? pdf.slice(dataStart, dataStart + Number(length[1])) : pdf.slice(dataStart, end).replace(/\r?\n?$/, "");
    const inflated = await inflate(data, budget);
    const inner = inflated === null ? null : kidsEntries(inflated);
    if (inner === null) return null;
    entries += inner;
    from = end;
  }
}

/** The most pages one base64 PDF can show a reader, or null when its bytes cannot say. */
async function countPages(base64: string, budget: Budget): Promise<number | null> {
  const pdf = decodeBase64(base64);
  if (pdf === null || !pdf.startsWith("%PDF")) return null;
  const plain = kidsEntries(pdf);
  if (plain === null) return null;
  const packed = await entriesInObjectStreams(pdf, budget);
  if (packed === null) return null;
  // A file without a page tree is read as one page at most (a reader may take the root for a page).
  return Math.max(1, plain + packed);
}

/** The pages of one request's inline PDFs in all, or null when any cannot be bounded (or anything about them fails). */
export async function pdfPagesOf(pdfs: readonly string[]): Promise<number | null> {
  const budget: Budget = { bytes: MAX_STREAM_BYTES, streams: MAX_OBJECT_STREAMS };
  let pages = 0;
  try {
    for (const pdf of pdfs) {
      const counted = await countPages(pdf, budget);
      if (counted === null) return null;
      pages += counted;
    }
  } catch {
    return null; // a client's bytes must never fail the request: the context window bounds it instead
  }
  return pages;
}

/** The page bound of one base64 PDF (pdfPagesOf). */
export const pdfPages = (base64: string): Promise<number | null> => pdfPagesOf([base64]);
