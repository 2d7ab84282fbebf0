/** Starts the mock provider for the in-workerd unit tests (its port is chosen in vitest.config.ts). */
import { startMockUpstream, type MockUpstream } from "./mock-upstream.ts";

let mock: MockUpstream | undefined;

export async function setup(): Promise<void> {
  mock = await startMockUpstream({ port: Number(process.env.MOCK_UPSTREAM_PORT) });
}

export async function teardown(): Promise<void> {
  await mock?.close();
}
