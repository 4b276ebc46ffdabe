-- wrk script: the same one-row POST on every request, body from the file named by $BODY,
-- Content-Type application/json. Prints one machine-readable RESULT line at the end (latency in
-- ms, from wrk's own histogram). Answers that are not 2xx/3xx are wrk's own `errors.status`
-- count: no Lua runs per response, so the load generator spends its CPU on sending, not on
-- reading answers (on 2 cores it shares the machine with the server).
local f = assert(io.open(os.getenv("BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.2f req_s=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f non200=%d socket_errors=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.status, e.connect + e.read + e.write + e.timeout))
end
