-- bench/serving/publish_load.lua: wrk script for publish_load.sh. Like recs.lua (random users
-- 1..BS_USERS, k=BS_K, non-2xx and "degraded":true counted) and also counts the answers per
-- "model_version" and how often a thread saw the version change. Every request carries
-- "Authorization: <BS_AUTHORIZATION>" (the API key). done() prints one RESULT line
-- (req/s, p50/p90/p99/p99.9/max ms, counts) and one VERSIONS line ("v1=120 v2=3400 ...").
local customers = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") ..
                         "customers.lua")
local threads = customers.threads
setup = customers.setup
request = customers.request

function init(args)
  non2xx = 0
  degraded = 0
  changes = 0
  versions = {}
  last = nil
  customers.seed()
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    return
  end
  if body:find('"degraded"%s*:%s*true') then
    degraded = degraded + 1
  end
  local v = body:match('"model_version"%s*:%s*"([^"]*)"') or "(none)"
  versions[v] = (versions[v] or 0) + 1
  if last ~= nil and v ~= last then
    changes = changes + 1
  end
  last = v
end

function done(summary, latency, requests)
  local n2, dg, ch = 0, 0, 0
  local all = {}
  for _, t in ipairs(threads) do
    n2 = n2 + t:get("non2xx")
    dg = dg + t:get("degraded")
    ch = ch + t:get("changes")
    for v, n in pairs(t:get("versions")) do
      all[v] = (all[v] or 0) + n
    end
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d seconds=%.2f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f " ..
    "p999_ms=%.3f max_ms=%.3f non2xx=%d degraded=%d sock_errors=%d timeouts=%d changes=%d\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency:percentile(99.9) / 1000, latency.max / 1000,
    n2, dg, e.connect + e.read + e.write, e.timeout, ch))
  local names = {}
  for v, _ in pairs(all) do table.insert(names, v) end
  table.sort(names)
  local parts = {}
  for _, v in ipairs(names) do table.insert(parts, v .. "=" .. all[v]) end
  io.write("VERSIONS " .. table.concat(parts, " ") .. "\n")
end
