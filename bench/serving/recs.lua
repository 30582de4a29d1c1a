-- bench/serving/recs.lua: wrk script for GET /v1/users/{id}/recommendations.
-- Spreads requests over users 1..BS_USERS (uniformly at random, per-thread seed), k=BS_K
-- (the picker: customers.lua).
-- Every request carries "Authorization: <BS_AUTHORIZATION>" (run.sh: "Bearer <API key>").
-- Counts non-2xx answers and bodies saying "degraded":true; done() prints one RESULT line with
-- req/s and p50/p90/p99/p99.9/max latency in ms (wrk's --latency table stops at p99).
local customers = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") ..
                         "customers.lua")
local threads = customers.threads
setup = customers.setup
request = customers.request

function init(args)
  non2xx = 0
  degraded = 0
  customers.seed()
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  elseif body:find('"degraded":true', 1, true) then
    degraded = degraded + 1
  end
end

function done(summary, latency, requests)
  local n2, dg = 0, 0
  for _, t in ipairs(threads) do
    n2 = n2 + t:get("non2xx")
    dg = dg + t:get("degraded")
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d seconds=%.2f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f " ..
    "p999_ms=%.3f max_ms=%.3f non2xx=%d degraded=%d sock_errors=%d timeouts=%d\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency:percentile(99.9) / 1000, latency.max / 1000,
    n2, dg, e.connect + e.read + e.write, e.timeout))
end
