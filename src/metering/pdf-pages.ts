/**
 * How many pages inline PDFs have, read from their bytes: a PDF's bytes do not
 * bound its tokens (Anthropic renders each page as an image beside its text,
 * Gemini bills 258 tokens a page; a few kilobytes of compressed PDF can hold a
 * hundred pages), but its page count does. Every page is an object of
 * `/Type /Page`, and page tree nodes carry the `/Count` of the pages below
 * them; in PDF 1.5 and later those objects may sit in compressed object
 * streams, which are inflated to look inside.
 *
 * The count must not be made low by a crafted file, so it is trusted only when
 * the two readings agree (as many page objects as the page tree's largest
 * `/Count`, a direct number); otherwise it falls back to the number of objects
 * the file defines, which no page can escape (every page is an object). Name
 * escapes (`/T#79pe`) are decoded first. Null when even that cannot be read
 * (an object stream that cannot be inflated, an indirect object count): the
 * context window then bounds the input.
 */

/** Bytes as a string of one character each (PDF syntax is ASCII; the rest only needs to keep its length). */
const LATIN1 = new TextDecoder("latin1");
/** The most bytes inflated from one request's object streams: beyond it the count is given up rather than the memory and time. */
const MAX_INFLATED_BYTES = 4 * 1024 * 1024;
/** How far before `/ObjStm` its dictionary's `<<` may be. */
const MAX_DICTIONARY_BYTES = 4 * 1024;

/** A page object's type (not `/Pages`, `/PageLabel`, …). */
const PAGE_TYPE = /\/Type\s*\/Page(?![A-Za-z0-9])/g;
const DIRECT_COUNT = /\/Count\s+(\d{1,9})\b(?!\s+\d+\s+R)/g;
/** A `/Count` or `/Type` given as a reference to another object: the counts cannot be read in place. */
const INDIRECT = /\/(?:Count|Type)\s+\d+\s+\d+\s+R\b/;
const OBJECT = /\b\d+\s+\d+\s+obj\b/g;
const NAME_ESCAPE = /#([0-9A-Fa-f]{2})/g;

/** What one piece of PDF text shows: page objects, the largest direct /Count, objects defined, and whether anything is indirect. */
interface Seen {
  pageObjects: number;
  largestCount: number;
  objects: number;
  indirect: boolean;
}

function look(raw: string, seen: Seen): void {
  const text = raw.includes("#") ? raw.replace(NAME_ESCAPE, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))) : raw;
  for (const _ of text.matchAll(PAGE_TYPE)) seen.pageObjects++;
  for (const m of text.matchAll(DIRECT_COUNT)) seen.largestCount = Math.max(seen.largestCount, Number(m[1]));
  for (const _ of text.matchAll(OBJECT)) seen.objects++;
  if (INDIRECT.test(text)) seen.indirect = true;
}

/** The decoded bytes of a base64 text (whitespace allowed), as a binary string; null when it is not base64. */
function decodeBase64(data: string): string | null {
  try {
    return atob(data.replace(/\s+/g, ""));
  } catch {
    return null;
  }
}

/** What may still be inflated for this request, in bytes. */
interface Budget {
  left: number;
}

/** Inflates one zlib stream (`/FlateDecode`) within the budget; null when it is not one or does not fit. */
async function inflate(binary: string, budget: Budget): Promise<string | null> {
  const bytes = Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
  const reader = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate")).getReader();
  const out: string[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      budget.left -= value.byteLength;
      if (budget.left < 0) {
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
 * Every object stream (`/Type /ObjStm`): its contents (inflated) are looked at, and its `/N` (the
 * objects it holds) counted. False when one cannot be read.
 */
async function objectStreams(pdf: string, seen: Seen, budget: Budget): Promise<boolean> {
  const streamStart = /stream\r?\n/g;
  let from = 0;
  for (;;) {
    const at = pdf.indexOf("/ObjStm", from);
    if (at === -1) return true;
    streamStart.lastIndex = at;
    const start = streamStart.exec(pdf);
    const end = start === null ? -1 : pdf.indexOf("endstream", start.index);
    if (start === null || end === -1) return false;
    const open = pdf.lastIndexOf("<<", at);
    if (open === -1 || at - open > MAX_DICTIONARY_BYTES) return false;
    const dictionary = pdf.slice(open, start.index);
    if (!/\/FlateDecode\b/.test(dictionary) || /\/DecodeParms|\/Predictor/.test(dictionary)) return false;
    const n = /\/N\s+(\d{1,9})\b(?!\s+\d+\s+R)/.exec(dictionary);
    if (n === null) return false;
    seen.objects += Number(n[1]);
    // The data is /Length bytes when that is a number; else up to the end-of-line before `endstream`.
    const dataStart = start.index + start[0].length;
    const length = /\/Length\s+(\d+)\b(?!\s+\d+\s+R)/.exec(dictionary);
    const data = length !== null ? pdf.slice(dataStart, dataStart + Number(length[1])) : pdf.slice(dataStart, end).replace(/\r?\n?$/, "");
    const inflated = await inflate(data, budget);
    if (inflated === null) return false;
    look(inflated, seen);
    from = end;
  }
}

/** The page count of one base64 PDF: trusted when its readings agree, else its object count; null when unreadable. */
async function countPages(base64: string, budget: Budget): Promise<number | null> {
  const pdf = decodeBase64(base64);
  if (pdf === null || !pdf.startsWith("%PDF")) return null;
  const seen: Seen = { pageObjects: 0, largestCount: 0, objects: 0, indirect: false };
  look(pdf, seen);
  if (pdf.includes("/ObjStm") && !(await objectStreams(pdf, seen, budget))) return null;
  if (!seen.indirect && seen.pageObjects > 0 && seen.pageObjects === seen.largestCount) return seen.pageObjects;
  return seen.objects > 0 ? seen.objects : null;
}

/** The pages of one request's inline PDFs in all, or null when any cannot be counted (or anything about them fails). */
export async function pdfPagesOf(pdfs: readonly string[]): Promise<number | null> {
  const budget: Budget = { left: MAX_INFLATED_BYTES };
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

/** The page count of one base64 PDF (pdfPagesOf). */
export const pdfPages = (base64: string): Promise<number | null> => pdfPagesOf([base64]);
