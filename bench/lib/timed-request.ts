/** One scenario request, timed with process.hrtime on a keep-alive connection. */
import { request as httpRequest, type Agent, type IncomingHttpHeaders } from "node:http";

export interface Timed {
  status: number;
  totalMs: number;
  /** Time to the first body chunk that holds `data:`; null if none did. */
  firstEventMs: number | null;
  /** The body, when asked to keep it. */
  body: string;
  headers: IncomingHttpHeaders;
}

/** POSTs a scenario body to `path` with the gateway key; times the whole response and the first `data:` chunk. */
function timedRequest(agent: Agent, port: number, path: string, body: Buffer, key: string, keepBody: boolean): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    let firstEvent: bigint | null = null;
    let seen = "";
    let kept = "";
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port,
        path,
        method: "POST",
        agent,
        headers: {
          authorization: `Bearer ${key}`,
          "content-type": "application/json",
          "content-length": body.length,
        },
      },
      (res) => {
        res.on("data", (chunk: Buffer) => {
          if (keepBody) kept += chunk.toString("utf8");
          if (firstEvent === null) {
            // `data:` may straddle two chunks: keep a short tail of what came before.
            seen = seen.slice(-4) + chunk.toString("latin1");
            if (seen.includes("data:")) firstEvent = process.hrtime.bigint();
          }
        });
        res.once("end", () => {
          const end = process.hrtime.bigint();
          resolve({
            status: res.statusCode ?? 0,
            totalMs: Number(end - start) / 1e6,
            firstEventMs: firstEvent === null ? null : Number(firstEvent - start) / 1e6,
            body: kept,
            headers: res.headers,
          });
        });
        res.once("error", reject);
      },
    );
    req.once("error", reject);
    req.end(body);
  });
}

/** With one retry: a keep-alive socket the server closed between two requests is not a measurement. */
export async function timedRequestRetry(
  agent: Agent,
  port: number,
  path: string,
  body: Buffer,
  key: string,
  keepBody = false,
): Promise<Timed> {
  try {
    return await timedRequest(agent, port, path, body, key, keepBody);
  } catch {
    return timedRequest(agent, port, path, body, key, keepBody);
  }
}
