// The mock's own check of AWS Signature Version 4 (node:crypto), kept apart from the gateway's
// signer so that a signing bug there makes the tests fail. Written from AWS's SigV4 guide.
import { createHash, createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { BEDROCK_TEST_CREDENTIALS, BEDROCK_TEST_SESSION } from './bedrock-credentials.ts';

const SECRETS = new Map<string, { secret: string; token?: string }>([
  [BEDROCK_TEST_CREDENTIALS.accessKeyId, { secret: BEDROCK_TEST_CREDENTIALS.secretAccessKey }],
  [BEDROCK_TEST_SESSION.accessKeyId, { secret: BEDROCK_TEST_SESSION.secretAccessKey, token: BEDROCK_TEST_SESSION.sessionToken }],
]);

/** An AWS auth failure: status, exception name, message (as AWS words them). */
export type AuthFailure = [number, string, string];

const BAD_SIGNATURE = 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
const BAD_TOKEN = 'The security token included in the request is invalid.';
const MAX_SKEW_MS = 5 * 60 * 1000;

const rfc3986 = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

/** Checks a Bedrock request's SigV4 signature; null when it is valid. */
export function verifySigV4(req: IncomingMessage, rawBody: Buffer): AuthFailure | null {
  const auth = req.headers.authorization ?? '';
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (match === null) return [403, 'IncompleteSignatureException', `Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. Authorization=${auth.slice(0, 40)}`];
  const [, keyId, day, region, service, signedList, signature] = match as unknown as string[];
  const known = SECRETS.get(keyId!);
  if (known === undefined) return [403, 'UnrecognizedClientException', BAD_TOKEN];
  if (service !== 'bedrock') return [403, 'InvalidSignatureException', `Credential should be scoped to correct service: 'bedrock'.`];
  const signed = signedList!.split(';');
  const date = req.headers['x-amz-date'];
  if (typeof date !== 'string' || !signed.includes('x-amz-date') || !signed.includes('host')) return [403, 'IncompleteSignatureException', 'Signed headers must include host and x-amz-date.'];
  if (!date.startsWith(day!)) return [403, 'InvalidSignatureException', `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${day}' != '${date.slice(0, 8)}'.`];
  const when = Date.parse(`${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`);
  if (!Number.isFinite(when) || Math.abs(Date.now() - when) > MAX_SKEW_MS) return [403, 'InvalidSignatureException', `Signature expired: ${date} is now earlier or later than the allowed 5 minutes.`];
  if (known.token !== undefined && (req.headers['x-amz-security-token'] !== known.token || !signed.includes('x-amz-security-token'))) {
    return [403, 'UnrecognizedClientException', BAD_TOKEN];
  }
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  // Not S3: each path segment as sent is encoded once more.
  const canonicalPath = path.split('/').map(rfc3986).join('/');
  const query = q === -1 ? '' : [...new URLSearchParams(url.slice(q + 1))].map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`).sort().join('&');
  let headerBlock = '';
  for (const name of signed) {
    const value = req.headers[name];
    if (value === undefined) return [403, 'InvalidSignatureException', BAD_SIGNATURE];
    headerBlock += `${name}:${(Array.isArray(value) ? value.join(',') : value).trim().replace(/\s+/g, ' ')}\n`;
  }
  const canonical = [req.method ?? 'POST', canonicalPath, query, headerBlock, signedList, createHash('sha256').update(rawBody).digest('hex')].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', date, scope, createHash('sha256').update(canonical, 'utf8').digest('hex')].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${known.secret}`, day!), region!), service!), 'aws4_request');
  return hmac(key, toSign).toString('hex') === signature ? null : [403, 'InvalidSignatureException', BAD_SIGNATURE];
}
