-- tests/fault/reads.lua: wrk script of the fault suite's recommendation reads.
-- GET /v1/users/{id}/recommendations?k=FT_K for random users 1..FT_USERS with
-- "Authorization: FT_AUTHORIZATION", paced: each connection waits FT_DELAY_MS between requests
-- (bounded load that leaves the two cores to the services). Counts the answers by class: 2xx,
-- 4xx, 5xx, 2xx bodies flagged "degraded":true, 2xx bodies that do not name FT_VERSION as
-- model_version (the first three of them per thread are appended to FT_OTHER_LOG when set).
-- done() prints one RESULT line.
local users = tonumber(os.getenv("FT_USERS") or "1000")
local k = tonumber(os.getenv("FT_K") or "10")
local pause = tonumber(os.getenv("FT_DELAY_MS") or "5")
local version = os.getenv("FT_VERSION") or ""
local want = '"model_version":"' .. version .. '"'
local other_log = os.getenv("FT_OTHER_LOG") -- the first answers naming another version go here
wrk.headers["Authorization"] = os.getenv("FT_AUTHORIZATION")
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  ok, c4xx, c5xx, degraded, other = 0, 0, 0, 0, 0
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
end

function delay()
  return pause
end

function request()
  return wrk.format("GET", "/v1/users/" .. math.random(1, users) .. "/recommendations?k=" .. k)
end

function response(status, headers, body)
  if status >= 500 then
    c5xx = c5xx + 1
  elseif status >= 400 then
    c4xx = c4xx + 1
  elseif status >= 200 and status <= 299 then
    ok = ok + 1
    if body:find('"degraded":true', 1, true) then
      degraded = degraded + 1
    end
    if not body:find(want, 1, true) then
      other = other + 1
      if other_log ~= nil and other <= 3 then
        local f = io.open(other_log, "a")
        if f then
          f:write(status, " ", body:sub(1, 600), "\n")
          f:close()
        end
      end
    end
  end
end

function done(summary, latency, requests)
  local s = { ok = 0, c4xx = 0, c5xx = 0, degraded = 0, other = 0 }
  for _, t in ipairs(threads) do
    for name, _ in pairs(s) do
      s[name] = s[name] + t:get(name)
    end
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d ok=%d c4xx=%d c5xx=%d degraded=%d other_version=%d " ..
    "sock_errors=%d timeouts=%d p99_ms=%.1f max_ms=%.1f\n",
    summary.requests, s.ok, s.c4xx, s.c5xx, s.degraded, s.other,
    e.connect + e.read + e.write, e.timeout,
    latency:percentile(99) / 1000, latency.max / 1000))
end
