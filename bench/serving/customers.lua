-- bench/serving/customers.lua: the customer picker the wrk scripts share (recs.lua,
-- publish_load.lua): loaded with dofile from the script's own folder, it reads BS_USERS
-- (customers 1..BS_USERS, default 10000), BS_K (list length, default 10) and
-- BS_AUTHORIZATION (sent as "Authorization" with every request when set), and gives
--   setup(thread)  wrk's setup: numbers the threads (the global tid) and keeps them in threads
--   seed()         call from init(): a seed of its own per thread
--   request()      GET /v1/users/<random customer>/recommendations?k=<BS_K>
local M = {
  users = tonumber(os.getenv("BS_USERS") or "10000"),
  k = tonumber(os.getenv("BS_K") or "10"),
  threads = {},
}
local authorization = os.getenv("BS_AUTHORIZATION")
if authorization ~= nil and authorization ~= "" then
  wrk.headers["Authorization"] = authorization
end
local counter = 0

function M.setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(M.threads, thread)
end

function M.seed()
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
end

function M.request()
  return wrk.format("GET", "/v1/users/" .. math.random(1, M.users) .. "/recommendations?k=" .. M.k)
end

return M
