/** SigV4 against AWS's published test suite (aws-sig-v4-test-suite: credentials AKIDEXAMPLE, 2015-08-30T12:36:00Z). */
import { describe, expect, it, vi } from "vitest";
import { canonicalUri, signRequest } from "../../src/providers/bedrock/sigv4.ts";

const SUITE = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };
const NOW = new Date("2015-08-30T12:36:00Z");

async function sign(method: string, url: string, body = "", credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } = SUITE): Promise<Headers> {
  const headers = new Headers({ host: "example.amazonaws.com" });
  await signRequest({ method, url: new URL(url), headers, body, region: "us-east-1", service: "service", now: NOW }, credentials);
  return headers;
}

const signature = (headers: Headers): string | undefined => /Signature=([0-9a-f]{64})$/.exec(headers.get("authorization") ?? "")?.[1];

describe("SigV4 signing (AWS test suite vectors)", () => {
  it("get-vanilla: the whole Authorization header", async () => {
    const headers = await sign("GET", "https://example.amazonaws.com/");
    expect(headers.get("x-amz-date")).toBe("20150830T123600Z");
    expect(headers.get("authorization")).toBe(
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    );
  });

  it("post-vanilla", async () => {
    expect(signature(await sign("POST", "https://example.amazonaws.com/"))).toBe("5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
  });

  it("get-vanilla-query-order-key-case: query parameters sorted", async () => {
    expect(signature(await sign("GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1"))).toBe(
      "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
    );
  });

  it("get-utf8: a non-ASCII path is percent-encoded", async () => {
    expect(canonicalUri("/ሴ")).toBe("/%E1%88%B4");
    const headers = new Headers({ host: "example.amazonaws.com" });
    // The URL parser would encode the path itself; the suite signs the raw path once encoded.
    const url = { pathname: "/ሴ", searchParams: new URLSearchParams(), host: "example.amazonaws.com" } as unknown as URL;
    await signRequest({ method: "GET", url, headers, body: "", region: "us-east-1", service: "service", now: NOW }, SUITE);
    expect(signature(headers)).toBe("8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85");
  });

  it("encodes each path segment of a Bedrock model id again (non-S3 services)", () => {
    expect(canonicalUri(`/model/${encodeURIComponent("us.anthropic.claude-sonnet-4-5-20250929-v1:0")}/converse`)).toBe(
      "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%253A0/converse",
    );
    const arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0";
    expect(canonicalUri(`/model/${encodeURIComponent(arn)}/converse`)).toBe(
      "/model/arn%253Aaws%253Abedrock%253Aus-east-1%253A123456789012%253Ainference-profile%252Fus.amazon.nova-pro-v1%253A0/converse",
    );
  });

  it("signs the session token of temporary credentials", async () => {
    const headers = await sign("POST", "https://example.amazonaws.com/", "{}", { ...SUITE, sessionToken: "token/+=" });
    expect(headers.get("x-amz-security-token")).toBe("token/+=");
    expect(headers.get("authorization")).toContain("SignedHeaders=host;x-amz-date;x-amz-security-token,");
  });

  it("derives the signing key once per secret, day, region and service, and keeps only a few", async () => {
    const imports = vi.spyOn(crypto.subtle, "importKey");
    try {
      const signOnce = async (region: string, day = NOW): Promise<string | undefined> => {
        const headers = new Headers({ host: "example.amazonaws.com" });
        await signRequest({ method: "GET", url: new URL("https://example.amazonaws.com/"), headers, body: "", region, service: "service", now: day }, SUITE);
        return signature(headers);
      };
      await signOnce("us-east-1");
      imports.mockClear();
      // Same day, same scope: no key derived again (the vector still matches), nor imported.
      expect(await signOnce("us-east-1")).toBe("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
      expect(imports).not.toHaveBeenCalled();
      // Another day is another key.
      await signOnce("us-east-1", new Date("2015-08-31T00:00:01Z"));
      expect(imports.mock.calls.length).toBeGreaterThanOrEqual(4);
      // Past the bound the oldest keys go: many regions later, the first is derived again.
      for (let i = 0; i < 40; i++) await signOnce(`region-${i}`);
      imports.mockClear();
      expect(await signOnce("us-east-1")).toBe("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
      expect(imports.mock.calls.length).toBeGreaterThanOrEqual(4);
    } finally {
      imports.mockRestore();
    }
  });
});
