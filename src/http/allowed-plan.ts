import { modelAllowed, modelNotAllowed, type GatewayKey } from "../auth/gateway-key.ts";
import type { Env } from "../env.ts";
import type { HealthView } from "../routing/health-types.ts";
import { planAttempts, type Plan, type Purpose } from "../routing/plan.ts";

/**
 * The plan for `requested`, if the key may use it. A bare model name that
 * resolves straight to one provider (`claude-sonnet-4-5` → anthropic) is also
 * allowed to a key that lists that provider's model or `provider/*`: it is the
 * same model either way. The key is checked before planning where it can be,
 * so a refused model costs no configuration read.
 */
export async function allowedPlan(env: Env, key: GatewayKey, requested: string, purpose: Purpose, health?: HealthView): Promise<Plan> {
  if (modelAllowed(key, requested)) return planAttempts(env, requested, purpose, health);
  if (requested.includes("/")) throw modelNotAllowed(requested);
  const plan = await planAttempts(env, requested, purpose, health).catch(() => null);
  const direct = plan !== null && plan.route === null ? plan.attempts[0] : undefined;
  if (direct !== undefined && modelAllowed(key, `${direct.provider.name}/${direct.model}`)) return plan as Plan;
  throw modelNotAllowed(requested);
}
