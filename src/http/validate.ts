import type { z } from "zod";
import { describeIssues } from "../config/schemas.ts";
import { invalidRequest } from "./errors.ts";

/** Parses `value` with `schema`, or throws a 400 naming the first offending field. */
export function validate<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const { message, param } = describeIssues(parsed.error);
    throw invalidRequest(message, param);
  }
  return parsed.data;
}
