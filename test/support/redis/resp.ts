/**
 * A small RESP2 client for the Upstash REST bridge: encodes commands, parses
 * replies incrementally, and keeps a pool of connections that each serve one
 * request's batch at a time (the batch is pipelined: written at once, replies
 * read back in order).
 */
import { connect, type Socket } from "node:net";

/** A simple-string ("+OK") reply: kept apart from bulk strings because Upstash leaves "OK" unencoded. */
export class RespStatus {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

/** An error ("-ERR …") reply. */
export class RespError {
  readonly message: string;
  constructor(message: string) {
    this.message = message;
  }
}

/** Bulk strings stay bytes (the bridge decides UTF-8 or base64); integers are bigint so none loses precision. */
export type RespValue = Buffer | bigint | null | RespStatus | RespError | RespValue[];

/** Redis could not be reached, or did not answer in time: the bridge answers 503. */
export class RedisUnavailableError extends Error {
  override name = "RedisUnavailableError";
}

const CRLF = Buffer.from("\r\n");

export function encodeCommand(args: readonly string[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = Buffer.from(arg, "utf8");
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, CRLF);
  }
  return Buffer.concat(parts);
}

type Parsed = { value: RespValue; end: number } | undefined;

/** One reply starting at `pos`, or undefined when `buf` does not hold all of it yet. */
export function parseReply(buf: Buffer, pos: number): Parsed {
  const lineEnd = buf.indexOf(CRLF, pos);
  if (lineEnd < 0) return undefined;
  const line = buf.toString("utf8", pos + 1, lineEnd);
  const next = lineEnd + 2;
  switch (buf[pos]) {
    case 0x2b: // +
      return { value: new RespStatus(line), end: next };
    case 0x2d: // -
      return { value: new RespError(line), end: next };
    case 0x3a: // :
      return { value: BigInt(line), end: next };
    case 0x24: { // $
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buf.length < next + length + 2) return undefined;
      return { value: buf.subarray(next, next + length), end: next + length + 2 };
    }
    case 0x2a: { // *
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items: RespValue[] = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, at);
        if (item === undefined) return undefined;
        items.push(item.value);
        at = item.end;
      }
      return { value: items, end: at };
    }
    default:
      throw new Error(`unexpected RESP type byte ${String(buf[pos])} in reply from Redis`);
  }
}

interface PendingBatch {
  expected: number;
  replies: RespValue[];
  resolve(replies: RespValue[]): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** One TCP connection to Redis; serves one batch at a time, so replies can never be handed to the wrong request. */
class RedisConnection {
  readonly socket: Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private pending: PendingBatch | null = null;
  broken = false;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (err) => this.fail(new RedisUnavailableError(`Redis connection failed: ${err.message}`)));
    socket.on("close", () => this.fail(new RedisUnavailableError("Redis closed the connection")));
  }

  static open(host: string, port: number, timeoutMs: number): Promise<RedisConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port, noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new RedisUnavailableError(`could not connect to Redis at ${host}:${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        resolve(new RedisConnection(socket));
      });
      socket.once("error", (err) => {
        clearTimeout(timer);
        reject(new RedisUnavailableError(`could not connect to Redis at ${host}:${port}: ${err.message}`));
      });
    });
  }

  /** Writes every command in one write (pipelined) and resolves with their replies, in order. */
  run(commands: readonly (readonly string[])[], timeoutMs: number): Promise<RespValue[]> {
    if (this.pending !== null) return Promise.reject(new Error("RedisConnection.run while a batch is in flight"));
    if (this.broken) return Promise.reject(new RedisUnavailableError("Redis connection is closed"));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // Late replies would be read as the next batch's: the connection is dropped.
        this.fail(new RedisUnavailableError(`Redis did not answer within ${timeoutMs} ms`));
        this.socket.destroy();
      }, timeoutMs);
      this.pending = { expected: commands.length, replies: [], resolve, reject, timer };
      this.socket.write(Buffer.concat(commands.map(encodeCommand)));
    });
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    let pos = 0;
    for (;;) {
      let parsed: Parsed;
      try {
        parsed = parseReply(this.buffer, pos);
      } catch (err) {
        this.fail(err instanceof Error ? err : new Error(String(err)));
        this.socket.destroy();
        return;
      }
      if (parsed === undefined) break;
      pos = parsed.end;
      this.deliver(parsed.value);
    }
    this.buffer = pos === this.buffer.length ? Buffer.alloc(0) : this.buffer.subarray(pos);
  }

  private deliver(value: RespValue): void {
    const batch = this.pending;
    if (batch === null) {
      this.fail(new Error("Redis sent a reply nobody asked for"));
      this.socket.destroy();
      return;
    }
    batch.replies.push(value);
    if (batch.replies.length === batch.expected) {
      clearTimeout(batch.timer);
      this.pending = null;
      batch.resolve(batch.replies);
    }
  }

  private fail(err: Error): void {
    this.broken = true;
    const batch = this.pending;
    this.pending = null;
    if (batch !== null) {
      clearTimeout(batch.timer);
      batch.reject(err);
    }
  }
}

export interface RedisPoolOptions {
  host?: string;
  port: number;
  /** Longest wait for a connection or for a batch's replies. */
  timeoutMs: number;
  /** Idle connections kept for reuse. */
  maxIdle?: number;
}

/** Connections handed out one request at a time; a connection that failed or timed out is never reused. */
export class RedisPool {
  private readonly host: string;
  private readonly port: number;
  private readonly timeoutMs: number;
  private readonly maxIdle: number;
  private readonly idle: RedisConnection[] = [];
  private readonly busy = new Set<RedisConnection>();

  constructor(options: RedisPoolOptions) {
    this.host = options.host ?? "127.0.0.1";
    this.port = options.port;
    this.timeoutMs = options.timeoutMs;
    this.maxIdle = options.maxIdle ?? 8;
  }

  async run(commands: readonly (readonly string[])[]): Promise<RespValue[]> {
    let conn = this.idle.pop();
    while (conn?.broken === true) conn = this.idle.pop();
    conn ??= await RedisConnection.open(this.host, this.port, this.timeoutMs);
    this.busy.add(conn);
    try {
      const replies = await conn.run(commands, this.timeoutMs);
      if (!conn.broken && this.idle.length < this.maxIdle) this.idle.push(conn);
      else conn.socket.destroy();
      return replies;
    } catch (err) {
      conn.socket.destroy();
      throw err;
    } finally {
      this.busy.delete(conn);
    }
  }

  close(): void {
    for (const conn of [...this.idle, ...this.busy]) conn.socket.destroy();
    this.idle.length = 0;
  }
}
