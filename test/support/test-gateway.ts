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
  const gw = await startLocalGateway({ port: await freePort(), persistTo: folder, inheritOutput: false, useDevVars: false, vars });
  return {
    ...gw,
    async stop() {
      await gw.stop();
      if (state === undefined) rmSync(folder, { recursive: true, force: true });
    },
  };
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
