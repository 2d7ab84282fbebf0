-- GET /admin/anomalies lists anomalies newest first (the dashboard's overview): by time, not by key.
CREATE INDEX anomalies_by_time ON anomalies (at DESC);
