-- wrk script: POST /v1/events with BATCH events per request (BATCH=1 sends one event object).
-- Every event id is unique (run id, thread, request, index), so every acknowledged event is new.
-- Env: BATCH (default 100), RUN (id prefix), ITEMS (default 3000), USERS (default 1000),
-- BS_AUTHORIZATION (the Authorization header value, "Bearer <API key>": events need credentials).
local batch = tonumber(os.getenv("BATCH") or "100")
local run = os.getenv("RUN") or tostring(os.time())
local items = tonumber(os.getenv("ITEMS") or "3000")
local users = tonumber(os.getenv("USERS") or "1000")
local types = { "view", "click", "add_to_cart", "purchase" }
local headers = { ["Content-Type"] = "application/json" }
local authorization = os.getenv("BS_AUTHORIZATION")
if authorization ~= nil and authorization ~= "" then
  headers["Authorization"] = authorization
end
local threads = {}
local next_tid = 0

function setup(thread)
  next_tid = next_tid + 1
  thread:set("tid", next_tid)
  table.insert(threads, thread)
end

local n = 0
local bad = 0

local function event(i)
  return string.format('{"event_id":"%s-%d-%d-%d","user_id":%d,"item_id":%d,"type":"%s"}',
    run, tid, n, i, math.random(users), math.random(items), types[math.random(4)])
end

request = function()
  n = n + 1
  local body
  if batch == 1 then
    body = event(0)
  else
    local parts = {}
    for i = 1, batch do parts[i] = event(i) end
    body = '{"events":[' .. table.concat(parts, ",") .. ']}'
  end
  return wrk.format("POST", "/v1/events", headers, body)
end

response = function(status, headers, body)
  if status ~= 202 then
    bad = bad + 1
    if bad <= 3 then io.stderr:write("status " .. status .. ": " .. body .. "\n") end
  end
end

done = function(summary, latency, requests)
  local secs = summary.duration / 1e6
  local ok = summary.requests - (summary.errors.status or 0)
  io.write(string.format(
    "http_batch=%d requests=%d non_2xx=%d seconds=%.2f events_per_s=%.0f req_p50_ms=%.2f req_p99_ms=%.2f events_acked=%d\n",
    batch, summary.requests, summary.errors.status or 0, secs, ok * batch / secs,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, ok * batch))
end
