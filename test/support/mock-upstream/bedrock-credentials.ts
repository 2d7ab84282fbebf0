// The AWS credentials the mock Bedrock accepts (no Node imports: the unit tests inside workerd use them too).

/** A long-term access key pair. */
export const BEDROCK_TEST_CREDENTIALS = {
  accessKeyId: 'AKIAMOCKBEDROCK00001',
  secretAccessKey: 'mockBedrockSecret/Key+0123456789abcdefghij',
} as const;

/** Temporary credentials: the mock also wants their session token, signed. */
export const BEDROCK_TEST_SESSION = {
  accessKeyId: 'ASIAMOCKBEDROCK00002',
  secretAccessKey: 'mockBedrockTemporary/Secret+9876543210zyx',
  sessionToken: 'FwoGZXIvYXdzEMockSessionToken//+/=',
} as const;
