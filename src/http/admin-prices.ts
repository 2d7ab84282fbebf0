/**
 * /admin/prices: the operator's price overrides (src/metering/price-overrides.ts)
 * and the price a model is metered at. Models may contain '/' (OpenRouter's
 * `anthropic/claude…`, Workers AI's `@cf/meta/…`): GET takes them as query
 * parameters, DELETE as the rest of the path.
 */
import { Hono } from "hono";
import { settingsFor } from "../config/settings.ts";
import type { AppEnv } from "../env.ts";
import { deleteOverride, listOverrides, priceOverrideSchema, readOverride, toPriceFields, writeOverride } from "../metering/price-overrides.ts";
import { bundledPrice, clearPriceCache } from "../metering/price-table.ts";
import { findPreset } from "../providers/registry.ts";
import { readJsonObject } from "./body.ts";
import { GatewayError, invalidRequest } from "./errors.ts";
import { validate } from "./validate.ts";

const noPrice = (provider: string, model: string): GatewayError =>
  new GatewayError(404, `No price for '${provider}/${model}': neither an override nor the bundled table has one.`, { code: "price_not_found", param: "model" });

export function priceRoutes(): Hono<AppEnv> {
  const prices = new Hono<AppEnv>();

  prices.put("/", async (c) => {
    const override = validate(priceOverrideSchema, await readJsonObject(c.req.raw, settingsFor(c.env)));
    if (findPreset(override.provider) === undefined) throw invalidRequest(`Unknown provider '${override.provider}'.`, "provider");
    await writeOverride(c.env.CONFIG, override);
    // Other isolates pick it up when their cached lookup expires (30 s) and KV has propagated.
    clearPriceCache();
    return c.json(override);
  });

  prices.get("/", async (c) => {
    const provider = c.req.query("provider");
    const model = c.req.query("model");
    if (provider === undefined && model === undefined) return c.json({ object: "list", data: await listOverrides(c.env.CONFIG) });
    if (!provider) throw invalidRequest("'provider' is required with 'model'.", "provider");
    if (!model) throw invalidRequest("'model' is required with 'provider'.", "model");
    // Read fresh, not through the isolate's cache: the operator asks what is stored now.
    const override = await readOverride(c.env.CONFIG, provider, model);
    if (override !== null) return c.json({ ...override, source: "override" });
    const bundled = bundledPrice(provider, model);
    if (bundled === undefined) throw noPrice(provider, model);
    return c.json({ provider, model, ...toPriceFields(bundled), source: "bundled" });
  });

  prices.delete("/:provider/:model{.+}", async (c) => {
    const provider = c.req.param("provider");
    const model = c.req.param("model");
    if (!(await deleteOverride(c.env.CONFIG, provider, model))) {
      throw new GatewayError(404, `No price override for '${provider}/${model}'.`, { code: "price_override_not_found", param: "model" });
    }
    clearPriceCache();
    return c.json({ provider, model, deleted: true });
  });

  return prices;
}
