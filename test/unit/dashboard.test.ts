/** Issue 14, item 1: the dashboard's files from Workers Static Assets, through the Worker: off without ADMIN_TOKEN, a strict CSP. */
import { describe, expect, it } from "vitest";
import { gateway, testEnv, type OpenAIError } from "./helpers.ts";

describe("/dashboard", () => {
  it("serves the page and its files with a strict Content-Security-Policy; every view is the same page", async () => {
    const page = await gateway("/dashboard");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    const csp = page.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).toContain("frame-ancestors 'none'");
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/dashboard/app.js"></script>');
    expect(html).not.toMatch(/<script>(?!<)/); // no inline script
    const script = await gateway("/dashboard/app.js");
    expect(script.headers.get("content-type")).toContain("javascript");
    expect((await script.text()).length).toBeGreaterThan(1_000);
    expect((await (await gateway("/dashboard/app.css")).text())).toContain(".uplot");
    expect(await (await gateway("/dashboard/requests")).text()).toBe(html);
  });

  it("is off without ADMIN_TOKEN, like the admin API", async () => {
    const off = await gateway("/dashboard", {}, testEnv({ ADMIN_TOKEN: undefined }));
    expect(off.status).toBe(403);
    expect((await off.json<OpenAIError>()).error.code).toBe("admin_disabled");
  });
});
