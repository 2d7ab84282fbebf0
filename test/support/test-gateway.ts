/**
 * The gateway the end-to-end tests drive: `wrangler dev` with the mock provider
 * behind it, its local state in a fresh temporary folder that `stop` removes.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalGateway, type LocalGateway } from "../../scripts/local-gateway.ts";
import { freePort } from "./free-port.ts";

export async function startTestGateway(vars: Record<string, string>): Promise<LocalGateway> {
  const state = mkdtempSync(join(tmpdir(), "switchyard-e2e-"));
  const gw = await startLocalGateway({ port: await freePort(), persistTo: state, inheritOutput: false, useDevVars: false, vars });
  return {
    ...gw,
    async stop() {
      await gw.stop();
      rmSync(state, { recursive: true, force: true });
    },
  };
}
