-- bench/serving/recs.lua: wrk script for GET /v1/users/{id}/recommendations.
-- Spreads requests over users 1..BS_USERS (uniformly at random, per-thread seed), k=BS_K.
-- Every request carries "Authorization: <BS_AUTHORIZATION>" (run.sh: "Bearer <API key>").
-- Counts non-2xx answers and bodies saying "degraded":true; done() prints one RESULT line with
-- req/s and p50/p90/p99/p99.9/max latency in ms (wrk's --latency table stops at p99).
local users = tonumber(os.getenv("BS_USERS") or "10000")
local k = tonumber(os.getenv("BS_K") or "10")
local authorization = os.getenv("BS_AUTHORIZATION")
if authorization ~= nil and authorization ~= "" then
  wrk.headers["Authorization"] = authorization
end
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
  degraded = 0
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
end

function request()
  return wrk.format("GET", "/v1/users/" .. math.random(1, users) .. "/recommendations?k=" .. k)
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
