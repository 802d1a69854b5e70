-- wrk script for bench/run.py: virtual customers with their own cookies, every request valid.
--
-- Environment (set by run.py):
--   BENCH_MODE   "get": GET BENCH_PATH as many customers in turn (their cookies rotate)
--                "order": each connection is one customer doing add-to-cart → checkout, again
--                and again (run with as many threads as connections: a thread's state is then
--                its connection's state)
--   BENCH_USERS  file, one customer a line: "<Cookie header>\t<CSRF token>"
--   BENCH_PATH   the path to GET (get mode)
--   BENCH_REFERER  optional Referer header (a move inside the app)
--   BENCH_SLUG, BENCH_ITEMS  order mode: the app's slug and a file of "<product>\t<variant>" lines
--   BENCH_HOST   host:port for Host and Origin
--   BENCH_OUT    where done() writes the JSON summary
--   BENCH_RUN    an id unique to this run (checkout keys must never repeat)
-- Responses that are not what a valid request gets (200 for get; 302 to the menu for add,
-- 302 to the pay step for checkout) are counted as "bad": the bench reports them and fails
-- the scenario when any occur.

local mode = os.getenv("BENCH_MODE") or "get"
local threads = {}
local counter = 0

local function lines(path)
  local out = {}
  if not path then return out end
  for line in io.lines(path) do
    if #line > 0 then out[#out + 1] = line end
  end
  return out
end

local function split(line)
  local a, b = line:match("^([^\t]*)\t?(.*)$")
  return a, b
end

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  threads[#threads + 1] = thread
end

local users, items, requests = {}, {}, {}
-- Globals: done() reads them from each thread with thread:get().
good, bad, checkouts = 0, 0, 0
local n, step, seq = 0, 0, 0
local me, host, slug, run_id

function init(args)
  host = os.getenv("BENCH_HOST")
  run_id = os.getenv("BENCH_RUN") or "0"
  for _, line in ipairs(lines(os.getenv("BENCH_USERS"))) do
    local cookie, token = split(line)
    users[#users + 1] = { cookie = cookie, token = token }
  end
  if mode == "get" then
    local path = os.getenv("BENCH_PATH")
    local referer = os.getenv("BENCH_REFERER")
    -- Pre-formatted requests: the Lua side of wrk stays cheap.
    for i, u in ipairs(users) do
      local headers = {
        ["Host"] = host,
        ["Accept"] = "text/html",
        ["Accept-Encoding"] = "gzip, deflate",
        ["Accept-Language"] = "en-GB,en;q=0.9",
      }
      if #u.cookie > 0 then headers["Cookie"] = u.cookie end
      if referer and #referer > 0 then headers["Referer"] = referer end
      requests[i] = wrk.format("GET", path, headers)
    end
    if #requests == 0 then
      requests[1] = wrk.format("GET", path, { ["Host"] = host, ["Accept-Encoding"] = "gzip" })
    end
    n = tid or 0
  else
    slug = os.getenv("BENCH_SLUG")
    for _, line in ipairs(lines(os.getenv("BENCH_ITEMS"))) do
      local product, variant = split(line)
      items[#items + 1] = { product = product, variant = variant }
    end
    me = users[((tid or 1) - 1) % #users + 1]
  end
end

local function post(path, body)
  return wrk.format("POST", path, {
    ["Host"] = host,
    ["Origin"] = "http://" .. host,
    ["Referer"] = "http://" .. host .. "/m/" .. slug .. "/",
    ["Cookie"] = me.cookie,
    ["X-CSRFToken"] = me.token,
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Accept-Encoding"] = "gzip, deflate",
  }, body)
end

function request()
  if mode == "get" then
    n = n + 1
    return requests[n % #requests + 1]
  end
  if step == 0 then
    seq = seq + 1
    local item = items[seq % #items + 1]
    local body = "item=" .. item.product .. "&quantity=1"
    if #item.variant > 0 then body = body .. "&v_" .. item.product .. "=" .. item.variant end
    return post("/m/" .. slug .. "/cart/add", body)
  end
  -- Unique across runs: a replayed key would return the order made before (idempotency).
  local key = string.format("b%s-%d-%d", run_id, tid or 0, seq)
  return post("/m/" .. slug .. "/checkout", "checkout_key=" .. key .. "&fulfilment=dine_in")
end

function response(status, headers, body)
  if mode == "get" then
    if status == 200 then good = good + 1 else bad = bad + 1 end
    return
  end
  local location = headers["Location"] or headers["location"] or ""
  if step == 0 then
    if status == 302 and location:find("/m/" .. slug .. "/", 1, true) then
      good = good + 1
    else
      bad = bad + 1
    end
    step = 1
  else
    if status == 302 and location:find("/pay", 1, true) then
      good = good + 1
      checkouts = checkouts + 1
    else
      bad = bad + 1
    end
    step = 0
  end
end

function done(summary, latency, requests)
  local g, b, c = 0, 0, 0
  for _, thread in ipairs(threads) do
    g = g + (thread:get("good") or 0)
    b = b + (thread:get("bad") or 0)
    c = c + (thread:get("checkouts") or 0)
  end
  local e = summary.errors
  local out = io.open(os.getenv("BENCH_OUT"), "w")
  out:write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "good": %d, "bad": %d, "checkouts": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}}',
    summary.requests, summary.duration, summary.bytes, g, b, c,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
  out:close()
end
