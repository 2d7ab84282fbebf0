// POST …/embeddings: deterministic vectors in float or base64 encoding.
import type { Ctx } from './response.ts';
import { send, sendError, sendMissing } from './response.ts';
import type { Obj } from './shared.ts';
import { nonNegInt } from './shared.ts';

const DEFAULT_DIMENSIONS = 8;

/** Deterministic unit vector derived from the input (FNV-1a seed, mulberry32 stream), float32-exact. */
export function embed(input: string | number[], dims: number): number[] {
  let h = 0x811c9dc5;
  if (typeof input === 'string') for (let i = 0; i < input.length; i++) h = Math.imul(h ^ input.charCodeAt(i), 0x01000193);
  else for (const n of input) h = Math.imul(h ^ (n | 0), 0x01000193);
  const v: number[] = [];
  let norm = 0;
  for (let i = 0; i < dims; i++) {
    h = (h + 0x6d2b79f5) | 0;
    let t = Math.imul(h ^ (h >>> 15), 1 | h);
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t);
    const x = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
    v.push(x);
    norm += x * x;
  }
  norm = Math.sqrt(norm) || 1;
  // fround so the float and base64 encodings decode to identical numbers.
  return v.map((x) => Math.fround(x / norm));
}

export function embeddings(ctx: Ctx, body: Obj): void {
  if (typeof body.model !== 'string' || body.model === '') return sendMissing(ctx, 'model');
  const input = body.input;
  let items: (string | number[])[] | undefined;
  if (typeof input === 'string') items = [input];
  else if (Array.isArray(input) && input.length > 0) {
    if (input.every((s) => typeof s === 'string')) items = input as string[];
    else if (input.every((n) => typeof n === 'number')) items = [input as number[]];
    else if (input.every((a) => Array.isArray(a) && a.every((n) => typeof n === 'number'))) items = input as number[][];
  }
  if (!items) {
    return input === undefined ? sendMissing(ctx, 'input') : sendError(ctx, 400, '\'$.input\' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.', 'input', 'invalid_type');
  }
  let dims = DEFAULT_DIMENSIONS;
  if (body.dimensions !== undefined && body.dimensions !== null) {
    const d = nonNegInt(body.dimensions);
    if (d === undefined || d < 1 || d > 8192) return sendError(ctx, 400, 'Invalid value for \'dimensions\'.', 'dimensions', 'invalid_value');
    dims = d;
  }
  const format = body.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64') {
    return sendError(ctx, 400, 'Invalid value for \'encoding_format\': expected \'float\' or \'base64\'.', 'encoding_format', 'invalid_value');
  }
  let chars = 0;
  let numberTokens = 0;
  for (const it of items) if (typeof it === 'string') chars += it.length; else numberTokens += it.length;
  const tokens = Math.ceil(chars / 4) + numberTokens;
  const data = items.map((it, index) => {
    const vec = embed(it, dims);
    if (format === 'float') return { object: 'embedding', index, embedding: vec };
    const buf = Buffer.allocUnsafe(dims * 4);
    vec.forEach((x, i) => buf.writeFloatLE(x, i * 4)); // the SDK decodes little-endian Float32 bytes
    return { object: 'embedding', index, embedding: buf.toString('base64') };
  });
  send(ctx, 200, JSON.stringify({ object: 'list', data, model: body.model, usage: { prompt_tokens: tokens, total_tokens: tokens } }));
}
