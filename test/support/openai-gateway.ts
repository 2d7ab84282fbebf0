/**
 * A test file's gateway with the official openai SDK pointed at it (the SDK
 * end-to-end tests): started before the file's tests, stopped after them.
 */
import { after, before } from "node:test";
import OpenAI from "openai";
import type { LocalGateway } from "../../scripts/local-gateway.ts";
import { scriptMock } from "./mock-script.ts";
import { startTestGateway } from "./test-gateway.ts";

export interface OpenAIGateway {
  gw(): LocalGateway;
  client(): OpenAI;
  /** Gives upstream requests containing `word` these mock options (translated bodies carry no `mock` field). */
  script(word: string, mock: Record<string, unknown>): Promise<void>;
}

export function openAIGatewayForFile(vars: Record<string, string> = { UPSTREAM_TIMEOUT_MS: "1500" }): OpenAIGateway {
  let gw: LocalGateway | undefined;
  let client: OpenAI | undefined;
  before(async () => {
    gw = await startTestGateway(vars);
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: gw.gatewayKey, maxRetries: 0 });
  });
  after(async () => {
    await gw?.stop();
  });
  const started = (): LocalGateway => {
    if (gw === undefined) throw new Error("the test gateway has not started");
    return gw;
  };
  return {
    gw: started,
    client: () => {
      if (client === undefined) throw new Error("the test gateway has not started");
      return client;
    },
    script: (word, mock) => scriptMock(started().mock.url, word, mock),
  };
}
