// Types and small helpers shared by the mock upstream's modules.
import { randomUUID } from 'node:crypto';

/** One request as the mock received it, for tests to inspect (`upstream.requests`, `GET /__mock/requests`). */
export interface RecordedRequest {
  method: string;
  path: string;
  /** The query string with its `?`, or "" (Azure-style providers carry `api-version` there). */
  query: string;
  headers: Record<string, string>;
  body: unknown;
  tag?: string;
  clientClosedEarly: boolean;
  completed: boolean;
  receivedAt: number;
}

export interface MockUpstream {
  url: string;
  port: number;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export interface MockUpstreamOptions {
  port?: number;
  host?: string;
}

/** A parsed JSON object: a request body or its `mock` options. */
export type Obj = Record<string, unknown>;

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
export const nonNegInt = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined);
export const nonNegNum = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
export const randomHex = (): string => randomUUID().replaceAll('-', ''); // pooled entropy: cheap at 10k req/s

/** An OpenAI-style error body. */
export function errorJson(message: string, type: string, param: string | null, code: string | null): string {
  return JSON.stringify({ error: { message, type, param, code } });
}
