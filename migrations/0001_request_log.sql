-- The request log (issue 13): one row per request, written in batches by the log queue's consumer
-- (src/observability/log-consumer.ts), and its rollups, which analytics read instead of raw rows.
-- Money is integer nano-dollars. Times are epoch milliseconds (UTC).

CREATE TABLE requests (
  id TEXT PRIMARY KEY,               -- the x-switchyard-request-id
  time INTEGER NOT NULL,             -- when the request arrived
  key_id TEXT,                       -- null: refused before its key was known
  end_user TEXT,
  endpoint TEXT NOT NULL,
  requested TEXT,                    -- the model as the client named it
  provider TEXT,                     -- the provider and model that answered
  model TEXT,
  stream INTEGER NOT NULL,
  status INTEGER NOT NULL,
  outcome TEXT NOT NULL,             -- completed, refused, failed, client_closed, upstream_error, …
  error_code TEXT,
  attempts INTEGER NOT NULL,
  fallbacks TEXT,                    -- provider/model=why, …
  degraded_to TEXT,
  prompt_tokens INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  cached_tokens INTEGER NOT NULL DEFAULT 0,
  cache_write_tokens INTEGER NOT NULL DEFAULT 0,
  reasoning_tokens INTEGER NOT NULL DEFAULT 0,
  audio_tokens INTEGER NOT NULL DEFAULT 0,
  cost_nanos INTEGER NOT NULL DEFAULT 0,
  cost_known INTEGER NOT NULL,       -- 0: the model has no price (cost_nanos is what abandoned calls cost)
  cost_estimated INTEGER NOT NULL,
  ttfb_ms INTEGER,
  duration_ms INTEGER NOT NULL,
  cache_hit INTEGER NOT NULL DEFAULT 0,
  anomaly TEXT,
  detail TEXT,                       -- JSON: the usage as reported, cost parts, unpriced uses, calls billed without an answer
  lat_bucket INTEGER NOT NULL,       -- the duration's histogram bucket (log2 of 16 ms steps), for the rollups
  ttfb_bucket INTEGER,
  rolled INTEGER NOT NULL DEFAULT 0  -- 1 once counted in the rollups (a retried batch is not counted twice)
);
CREATE INDEX requests_by_time ON requests (time DESC, id DESC);
CREATE INDEX requests_by_key ON requests (key_id, time DESC);
CREATE INDEX requests_unrolled ON requests (rolled) WHERE rolled = 0;
CREATE INDEX requests_anomalies ON requests (time DESC) WHERE anomaly IS NOT NULL;

-- Per hour, key, provider and model. Latency and time to first byte as histograms, so percentiles of
-- any span come from adding buckets (bucket i counts values below 16 × 2^i ms; the last, everything above).
CREATE TABLE rollup_hour (
  hour INTEGER NOT NULL,             -- epoch hours
  key_id TEXT NOT NULL,              -- '' for none
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  requests INTEGER NOT NULL,
  errors INTEGER NOT NULL,           -- 5xx, and streams that did not complete
  refused INTEGER NOT NULL,          -- 4xx
  cost_nanos INTEGER NOT NULL,
  estimated INTEGER NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  cached_tokens INTEGER NOT NULL,
  reasoning_tokens INTEGER NOT NULL,
  lat_0 INTEGER NOT NULL DEFAULT 0,
  lat_1 INTEGER NOT NULL DEFAULT 0,
  lat_2 INTEGER NOT NULL DEFAULT 0,
  lat_3 INTEGER NOT NULL DEFAULT 0,
  lat_4 INTEGER NOT NULL DEFAULT 0,
  lat_5 INTEGER NOT NULL DEFAULT 0,
  lat_6 INTEGER NOT NULL DEFAULT 0,
  lat_7 INTEGER NOT NULL DEFAULT 0,
  lat_8 INTEGER NOT NULL DEFAULT 0,
  lat_9 INTEGER NOT NULL DEFAULT 0,
  lat_10 INTEGER NOT NULL DEFAULT 0,
  lat_11 INTEGER NOT NULL DEFAULT 0,
  lat_12 INTEGER NOT NULL DEFAULT 0,
  lat_13 INTEGER NOT NULL DEFAULT 0,
  lat_14 INTEGER NOT NULL DEFAULT 0,
  lat_15 INTEGER NOT NULL DEFAULT 0,
  ttfb_0 INTEGER NOT NULL DEFAULT 0,
  ttfb_1 INTEGER NOT NULL DEFAULT 0,
  ttfb_2 INTEGER NOT NULL DEFAULT 0,
  ttfb_3 INTEGER NOT NULL DEFAULT 0,
  ttfb_4 INTEGER NOT NULL DEFAULT 0,
  ttfb_5 INTEGER NOT NULL DEFAULT 0,
  ttfb_6 INTEGER NOT NULL DEFAULT 0,
  ttfb_7 INTEGER NOT NULL DEFAULT 0,
  ttfb_8 INTEGER NOT NULL DEFAULT 0,
  ttfb_9 INTEGER NOT NULL DEFAULT 0,
  ttfb_10 INTEGER NOT NULL DEFAULT 0,
  ttfb_11 INTEGER NOT NULL DEFAULT 0,
  ttfb_12 INTEGER NOT NULL DEFAULT 0,
  ttfb_13 INTEGER NOT NULL DEFAULT 0,
  ttfb_14 INTEGER NOT NULL DEFAULT 0,
  ttfb_15 INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (hour, key_id, provider, model)
) WITHOUT ROWID;

-- The same per day: a month of charts reads 30 rows per key and model, not 720.
CREATE TABLE rollup_day (
  day INTEGER NOT NULL,              -- epoch days
  key_id TEXT NOT NULL,              -- '' for none
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  requests INTEGER NOT NULL,
  errors INTEGER NOT NULL,           -- 5xx, and streams that did not complete
  refused INTEGER NOT NULL,          -- 4xx
  cost_nanos INTEGER NOT NULL,
  estimated INTEGER NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  cached_tokens INTEGER NOT NULL,
  reasoning_tokens INTEGER NOT NULL,
  lat_0 INTEGER NOT NULL DEFAULT 0,
  lat_1 INTEGER NOT NULL DEFAULT 0,
  lat_2 INTEGER NOT NULL DEFAULT 0,
  lat_3 INTEGER NOT NULL DEFAULT 0,
  lat_4 INTEGER NOT NULL DEFAULT 0,
  lat_5 INTEGER NOT NULL DEFAULT 0,
  lat_6 INTEGER NOT NULL DEFAULT 0,
  lat_7 INTEGER NOT NULL DEFAULT 0,
  lat_8 INTEGER NOT NULL DEFAULT 0,
  lat_9 INTEGER NOT NULL DEFAULT 0,
  lat_10 INTEGER NOT NULL DEFAULT 0,
  lat_11 INTEGER NOT NULL DEFAULT 0,
  lat_12 INTEGER NOT NULL DEFAULT 0,
  lat_13 INTEGER NOT NULL DEFAULT 0,
  lat_14 INTEGER NOT NULL DEFAULT 0,
  lat_15 INTEGER NOT NULL DEFAULT 0,
  ttfb_0 INTEGER NOT NULL DEFAULT 0,
  ttfb_1 INTEGER NOT NULL DEFAULT 0,
  ttfb_2 INTEGER NOT NULL DEFAULT 0,
  ttfb_3 INTEGER NOT NULL DEFAULT 0,
  ttfb_4 INTEGER NOT NULL DEFAULT 0,
  ttfb_5 INTEGER NOT NULL DEFAULT 0,
  ttfb_6 INTEGER NOT NULL DEFAULT 0,
  ttfb_7 INTEGER NOT NULL DEFAULT 0,
  ttfb_8 INTEGER NOT NULL DEFAULT 0,
  ttfb_9 INTEGER NOT NULL DEFAULT 0,
  ttfb_10 INTEGER NOT NULL DEFAULT 0,
  ttfb_11 INTEGER NOT NULL DEFAULT 0,
  ttfb_12 INTEGER NOT NULL DEFAULT 0,
  ttfb_13 INTEGER NOT NULL DEFAULT 0,
  ttfb_14 INTEGER NOT NULL DEFAULT 0,
  ttfb_15 INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, key_id, provider, model)
) WITHOUT ROWID;

-- Per day, key and end user.
CREATE TABLE rollup_day_user (
  day INTEGER NOT NULL,              -- epoch days
  key_id TEXT NOT NULL,
  end_user TEXT NOT NULL,            -- '' for none
  requests INTEGER NOT NULL,
  errors INTEGER NOT NULL,
  refused INTEGER NOT NULL,
  cost_nanos INTEGER NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  PRIMARY KEY (day, key_id, end_user)
) WITHOUT ROWID;
