/**
 * Exact money arithmetic. A rate in USD per million tokens is a whole number
 * of pico-dollars (USD × 10⁻¹²) per token once kept to 10⁻⁶ USD per million
 * tokens, far finer than any published price; tokens are whole. Their products
 * and sums are exact in BigInt, however large the counts, and are rounded to
 * nano-dollars once, at the end. Money leaves here saturated at
 * Number.MAX_SAFE_INTEGER nano-dollars (about $9 million), so no count a client
 * or a provider sends can make an amount that is not an exact number.
 */
import type { Nanos } from "./types.ts";

export type Pico = bigint;

const PICO_PER_NANO = 1_000n;
const MAX_NANOS = BigInt(Number.MAX_SAFE_INTEGER);

/** Pico-dollars per token at `usdPerMTok` (×10⁻⁶ per token, ×10¹² pico-dollars per dollar). */
export const picoPerToken = (usdPerMTok: number): Pico => BigInt(Math.round(usdPerMTok * 1e6));

/** Pico-dollars of an amount in USD (a per-use fee). */
export const picoOfUsd = (usd: number): Pico => BigInt(Math.round(usd * 1e12));

/** A token count as a whole number for exact products: rounded, never negative, NaN and ±Infinity as 0 and the largest safe count. */
export function wholeTokens(n: number): bigint {
  if (Number.isNaN(n) || n <= 0) return 0n;
  return BigInt(Math.min(Math.round(n), Number.MAX_SAFE_INTEGER));
}

/** `tokens` at `usdPerMTok`, in pico-dollars. */
export const tokensAt = (tokens: number, usdPerMTok: number): Pico => wholeTokens(tokens) * picoPerToken(usdPerMTok);

const saturate = (nanos: bigint): Nanos => Number(nanos > MAX_NANOS ? MAX_NANOS : nanos);

/** Rounded to the nearest nano-dollar (half up): what an answer cost. */
export const nanosRounded = (pico: Pico): Nanos => saturate((pico + PICO_PER_NANO / 2n) / PICO_PER_NANO);

/** Rounded up to a whole nano-dollar: a bound must never fall below what it bounds. */
export const nanosCeil = (pico: Pico): Nanos => saturate((pico + PICO_PER_NANO - 1n) / PICO_PER_NANO);

/** The larger of two amounts. */
export const maxPico = (a: Pico, b: Pico): Pico => (a > b ? a : b);
