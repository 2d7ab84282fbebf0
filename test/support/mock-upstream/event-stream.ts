// AWS event-stream frames (`application/vnd.amazon.eventstream`), encoded as Bedrock sends them:
// prelude (total length, headers length, prelude CRC-32), headers, payload, message CRC-32.
import { crc32 } from 'node:zlib';

/** A header value with its wire type: 0/1 bool, 2 byte, 3 short, 4 int, 5 long, 6 bytes, 7 string, 8 timestamp, 9 uuid. */
export type FrameHeader =
  | { type: 'bool'; value: boolean } | { type: 'byte' | 'short' | 'int'; value: number } | { type: 'long' | 'timestamp'; value: bigint }
  | { type: 'bytes'; value: Buffer } | { type: 'string'; value: string } | { type: 'uuid'; value: Buffer };

function encodeHeader(name: string, header: FrameHeader): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  let value: Buffer;
  let type: number;
  switch (header.type) {
    case 'bool': type = header.value ? 0 : 1; value = Buffer.alloc(0); break;
    case 'byte': type = 2; value = Buffer.alloc(1); value.writeInt8(header.value); break;
    case 'short': type = 3; value = Buffer.alloc(2); value.writeInt16BE(header.value); break;
    case 'int': type = 4; value = Buffer.alloc(4); value.writeInt32BE(header.value); break;
    case 'long': type = 5; value = Buffer.alloc(8); value.writeBigInt64BE(header.value); break;
    case 'timestamp': type = 8; value = Buffer.alloc(8); value.writeBigInt64BE(header.value); break;
    case 'uuid': type = 9; value = header.value; break;
    case 'bytes':
    case 'string': {
      type = header.type === 'bytes' ? 6 : 7;
      const raw = header.type === 'bytes' ? header.value : Buffer.from(header.value, 'utf8');
      value = Buffer.concat([Buffer.from([raw.length >> 8, raw.length & 0xff]), raw]);
      break;
    }
  }
  return Buffer.concat([Buffer.from([nameBytes.length]), nameBytes, Buffer.from([type]), value]);
}

export function encodeFrame(headers: Record<string, FrameHeader>, payload: Buffer): Buffer {
  const headerBytes = Buffer.concat(Object.entries(headers).map(([name, h]) => encodeHeader(name, h)));
  const total = 12 + headerBytes.length + payload.length + 4;
  const frame = Buffer.alloc(total);
  frame.writeUInt32BE(total, 0);
  frame.writeUInt32BE(headerBytes.length, 4);
  frame.writeUInt32BE(crc32(frame.subarray(0, 8)), 8);
  headerBytes.copy(frame, 12);
  payload.copy(frame, 12 + headerBytes.length);
  frame.writeUInt32BE(crc32(frame.subarray(0, total - 4)), total - 4);
  return frame;
}

const str = (value: string): FrameHeader => ({ type: 'string', value });

/** A Converse stream event: `:event-type` names it; Bedrock pads each payload with a `p` field. */
export function eventFrame(eventType: string, data: Record<string, unknown>): Buffer {
  const padding = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0'.slice(0, 10 + (eventType.length % 20));
  return encodeFrame(
    { ':event-type': str(eventType), ':content-type': str('application/json'), ':message-type': str('event') },
    Buffer.from(JSON.stringify({ ...data, p: padding })),
  );
}

/** An exception frame (`throttlingException`, …) with its `{"message"}` payload. */
export function exceptionFrame(exceptionType: string, message: string): Buffer {
  return encodeFrame(
    { ':exception-type': str(exceptionType), ':content-type': str('application/json'), ':message-type': str('exception') },
    Buffer.from(JSON.stringify({ message })),
  );
}
