-- wrk script for the soak: one-row POSTs of the valid body ($DIR/mlops.json); every 100th request
-- of a thread is malformed instead, rotating among the kinds below ($DIR/bad_<kind>.json).
-- Per thread: requests sent per kind, answers by status class, and the 4xx answers sorted by
-- which refusal message they carry (so a valid row refused would show up as "other"). A 2xx
-- must carry predictions. Prints a SOAK summary at the end.
local dir = os.getenv("DIR")
local function read(name)
  local f = assert(io.open(dir .. "/" .. name, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end
local headers = { ["Content-Type"] = "application/json" }
local kinds = { "json", "unknown", "missing", "type", "shape" }
-- The refusal message each kind gets (docs/serving.md: the message names what is wrong).
local patterns = {
  json = "not valid JSON", unknown = "unknown input 'fare_amount'", missing = "input 'fare' is missing",
  type = "input 'fare' row 0: expected a number", shape = "input 'trip_miles' must have shape",
}
local valid, bad = nil, {}

function init(args)
  valid = wrk.format("POST", nil, headers, read("mlops.json"))
  for _, k in ipairs(kinds) do bad[k] = wrk.format("POST", nil, headers, read("bad_" .. k .. ".json")) end
  n, sent_valid, s2xx, s4xx, s5xx, sother, bad_2xx_body = 0, 0, 0, 0, 0, 0, 0
  sent, refused = {}, { other = 0 }
  for _, k in ipairs(kinds) do sent[k] = 0; refused[k] = 0 end
  sample_5xx, sample_other = "", ""
end

function request()
  n = n + 1
  if n % 100 == 0 then
    local k = kinds[(n / 100) % #kinds + 1]
    sent[k] = sent[k] + 1
    return bad[k]
  end
  sent_valid = sent_valid + 1
  return valid
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    s2xx = s2xx + 1
    if not string.find(body, '"predicted_class"', 1, true) then bad_2xx_body = bad_2xx_body + 1 end
  elseif status >= 400 and status < 500 then
    s4xx = s4xx + 1
    local which = "other"
    for k, p in pairs(patterns) do
      if string.find(body, p, 1, true) then which = k end
    end
    refused[which] = refused[which] + 1
    if which == "other" and sample_other == "" then sample_other = status .. " " .. string.sub(body, 1, 300) end
  elseif status >= 500 then
    s5xx = s5xx + 1
    if sample_5xx == "" then sample_5xx = status .. " " .. string.sub(body, 1, 300) end
  else
    sother = sother + 1
  end
end

local threads = {}
function setup(thread) table.insert(threads, thread) end

function done(summary, latency, requests)
  local sum = function(name)
    local total = 0
    for _, t in ipairs(threads) do total = total + t:get(name) end
    return total
  end
  local sumk = function(name, k)
    local total = 0
    for _, t in ipairs(threads) do total = total + t:get(name)[k] end
    return total
  end
  local e = summary.errors
  local sent_bad, line = 0, ""
  for _, k in ipairs(kinds) do
    sent_bad = sent_bad + sumk("sent", k)
    line = line .. string.format(" %s=%d/%d", k, sumk("refused", k), sumk("sent", k))
  end
  local answered = sum("s2xx") + sum("s4xx") + sum("s5xx") + sum("sother")
  io.write(string.format("SOAK requests=%d seconds=%.1f req_s=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
  io.write(string.format("SOAK 2xx=%d 4xx=%d 5xx=%d other_status=%d socket_errors=%d (connect %d read %d write %d timeout %d)\n",
    sum("s2xx"), sum("s4xx"), sum("s5xx"), sum("sother"), e.connect + e.read + e.write + e.timeout,
    e.connect, e.read, e.write, e.timeout))
  io.write(string.format("SOAK sent valid=%d malformed=%d; answered %d, so %d unanswered in flight at the stop\n",
    sum("sent_valid"), sent_bad, answered, sum("sent_valid") + sent_bad - answered))
  io.write(string.format("SOAK 4xx by refusal (answered/sent):%s other=%d; 2xx without predictions=%d\n",
    line, sumk("refused", "other"), sum("bad_2xx_body")))
  for _, t in ipairs(threads) do
    if t:get("sample_5xx") ~= "" then io.write("first 5xx: " .. t:get("sample_5xx") .. "\n") end
    if t:get("sample_other") ~= "" then io.write("first unexpected 4xx: " .. t:get("sample_other") .. "\n") end
  end
end
