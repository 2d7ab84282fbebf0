-- Anomalies found by the request log's consumer (src/observability/anomalies.ts), one row each, so that a
-- retried batch or a second look at the same hour alerts once. kind: 'request' (subject: the request id)
-- or 'hour' (subject: the epoch hour).
CREATE TABLE anomalies (
  kind TEXT NOT NULL,
  key_id TEXT NOT NULL,
  subject TEXT NOT NULL,
  at INTEGER NOT NULL,
  detail TEXT NOT NULL,
  PRIMARY KEY (kind, key_id, subject)
) WITHOUT ROWID;
