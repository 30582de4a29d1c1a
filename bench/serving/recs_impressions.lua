-- bench/serving/recs_impressions.lua: recs.lua plus what the web UI does with every answer: it
-- posts the list it showed (POST /v1/impressions with the answer's rec_id, experiment,
-- variant, model_version and each item's position). Each thread alternates: a recommendation
-- request for a random customer of 1..BS_USERS, then the impression of an answer it received.
-- RESULT's requests and rps count recommendation answers only (so CPU per request in run.sh is
-- CPU per answer, its impression included); latencies are over both kinds of requests. Counts
-- non-2xx answers of either kind, degraded recommendation answers, and impressions posted.
local users = tonumber(os.getenv("BS_USERS") or "10000")
local k = tonumber(os.getenv("BS_K") or "10")
local authorization = os.getenv("BS_AUTHORIZATION")
wrk.headers["Content-Type"] = "application/json"
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
  answers = 0
  posted = 0
  pending = {}
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
end

function request()
  local body = table.remove(pending)
  if body ~= nil then
    return wrk.format("POST", "/v1/impressions", nil, body)
  end
  return wrk.format("GET", "/v1/users/" .. math.random(1, users) .. "/recommendations?k=" .. k)
end

-- The impression of one recommendation answer, built from its fields.
local function impression(body)
  local rec_id = body:match('"rec_id":"([^"]+)"')
  local user = body:match('"user_id":(%d+)')
  if rec_id == nil or user == nil then return nil end
  local items, pos = {}, 0
  for id in body:gmatch('"item_id":(%d+)') do
    pos = pos + 1
    items[pos] = string.format('{"item_id":%s,"position":%d}', id, pos)
  end
  if pos == 0 then return nil end
  local extra = ""
  local exp = body:match('"experiment":(%d+)')
  local variant = body:match('"variant":"([^"]+)"')
  local mv = body:match('"model_version":"([^"]+)"')
  if exp ~= nil then extra = extra .. ',"experiment":' .. exp end
  if variant ~= nil then extra = extra .. ',"variant":"' .. variant .. '"' end
  if mv ~= nil then extra = extra .. ',"model_version":"' .. mv .. '"' end
  return string.format('{"rec_id":"%s","user_id":%s,"surface":"for_you"%s,"items":[%s]}',
    rec_id, user, extra, table.concat(items, ","))
end

function response(status, headers, body)
  if status == 202 then
    posted = posted + 1
    return
  end
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    return
  end
  answers = answers + 1
  if body:find('"degraded":true', 1, true) then
    degraded = degraded + 1
  end
  local imp = impression(body)
  if imp ~= nil then
    table.insert(pending, imp)
  end
end

function done(summary, latency, requests)
  local n2, dg, an, po = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    n2 = n2 + t:get("non2xx")
    dg = dg + t:get("degraded")
    an = an + t:get("answers")
    po = po + t:get("posted")
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d seconds=%.2f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f " ..
    "p999_ms=%.3f max_ms=%.3f non2xx=%d degraded=%d sock_errors=%d timeouts=%d " ..
    "impressions_posted=%d all_requests=%d\n",
    an, secs, an / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency:percentile(99.9) / 1000, latency.max / 1000,
    n2, dg, e.connect + e.read + e.write, e.timeout, po, summary.requests))
end
