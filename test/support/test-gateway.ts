/**
 * The gateway the end-to-end tests drive: `wrangler dev` with the mock provider
 * behind it, its local state in a fresh temporary folder that `stop` removes.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { startLocalGateway, type LocalGateway } from "../../scripts/local-gateway.ts";
import { freePort } from "./free-port.ts";

/**
 * `state`: a folder to keep the local state in across restarts (the caller
 * removes it); by default a fresh one that `stop` removes.
 */
export async function startTestGateway(vars: Record<string, string>, state?: string): Promise<LocalGateway> {
  const folder = state ?? mkdtempSync(join(tmpdir(), "switchyard-e2e-"));
  const gw = await startOnFreePort(folder, vars);
  return {
    ...gw,
    async stop() {
      await gw.stop();
      if (state === undefined) rmSync(folder, { recursive: true, force: true });
    },
  };
}

/**
 * A free port is only free until someone binds it: workerd, the mock or another gateway may take it
 * between `freePort` and wrangler's bind (seen in CI). A start that lost that race is tried again on another.
 */
async function startOnFreePort(folder: string, vars: Record<string, string>): Promise<LocalGateway> {
  for (let tries = 1; ; tries++) {
    try {
      return await startLocalGateway({ port: await freePort(), persistTo: folder, inheritOutput: false, useDevVars: false, vars });
    } catch (err) {
      if (tries >= 3 || !/Address already in use/.test(String(err))) throw err;
    }
  }
}

/** A test file's gateway: started before its tests, stopped after them; `gateway()` while they run. */
export function testGatewayForFile(vars: Record<string, string> = {}): () => LocalGateway {
  let gw: LocalGateway | undefined;
  before(async () => {
    gw = await startTestGateway(vars);
  });
  after(async () => {
    await gw?.stop();
  });
  return () => {
    if (gw === undefined) throw new Error("the test gateway has not started");
    return gw;
  };
}
