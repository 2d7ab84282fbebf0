-- Where a request's bodies are kept in R2 (LOG_BODIES), for keys with logBodies "all" or "anomalies".
ALTER TABLE requests ADD COLUMN bodies TEXT;
