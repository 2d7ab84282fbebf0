-- wrk script for the Switchyard benchmark (bench/run.ts, run from bench/lib/load.ts).
-- Sends POST requests with the JSON body in $BENCH_BODY_FILE and the bearer key in
-- $BENCH_AUTH (the gateway key the harness created) to the path of the URL wrk is given
-- (wrk.path: the scenario's endpoint, set by bench/lib/load.ts), and prints one machine-readable
-- line when the run is done:
--   BENCH_WRK {"requests":..,"duration_us":..,"p50_us":..,"p99_us":..,...}
-- Latency figures are wrk's per-request times (send to last byte of the response), in microseconds.

local function read_file(path)
  local f = assert(io.open(path, "rb"), "cannot open BENCH_BODY_FILE " .. tostring(path))
  local content = f:read("*a")
  f:close()
  return content
end

wrk.method = "POST"
wrk.body = read_file(os.getenv("BENCH_BODY_FILE"))
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. assert(os.getenv("BENCH_AUTH"), "BENCH_AUTH is not set")

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_WRK {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"mean_us":%.1f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
