-- wrk script of bench/serving.py: POST {"features": {...}} with a token, count the 2xx,
-- keep each answer's request_id, and write a JSON summary from done().
--
-- Environment (set by the bench):
--   BENCH_TOKEN  API token sent as "Authorization: Token <key>" (the baseline ignores it)
--   BENCH_MODE   "fixed": the same input every time (our explanation cache hits);
--                "varied": a new customer per request, drawn at random with full-precision
--                charges, so no two requests share an input (cache hit rate about zero)
--   BENCH_SALT   mixed into the random seed, so runs never repeat each other's inputs
--   BENCH_OUT    where done() writes the summary (JSON)
--   BENCH_IDS    where done() writes the request_id of every 2xx answer, one per line

local token = os.getenv("BENCH_TOKEN") or ""
local mode = os.getenv("BENCH_MODE") or "fixed"
local salt = tonumber(os.getenv("BENCH_SALT") or "0")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Token " .. token
-- A new connection per request: with kept-alive connections, gunicorn's first worker to wake
-- up often accepts all of wrk's connections and the other worker idles for the whole run
-- (seen here in about half the runs, for both apps). Reconnecting spreads calls evenly.
wrk.headers["Connection"] = "close"

local fixed = '{"features": {"tenure_months": 12, "monthly_charges": 70.5, '
  .. '"support_calls": 2, "age": 40, "contract": "month-to-month", '
  .. '"payment_method": "card"}}'
local contracts = { "month-to-month", "month-to-month", "one-year", "two-year" }
local payments = { "card", "card", "bank-transfer", "check" }

local threads = {}

function setup(thread)
  thread:set("thread_no", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() * 1000 + salt * 101 + thread_no * 7919)
  ok, other, ids = 0, 0, {}
end

local function varied()
  return string.format(
    '{"features": {"tenure_months": %d, "monthly_charges": %.6f, "support_calls": %d, '
      .. '"age": %d, "contract": "%s", "payment_method": "%s"}}',
    math.random(0, 71),
    18 + math.random() * 130,
    math.random(0, 6),
    math.random(18, 79),
    contracts[math.random(#contracts)],
    payments[math.random(#payments)]
  )
end

function request()
  local body = mode == "varied" and varied() or fixed
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
    local id = string.match(body, '"request_id":%s*"([^"]+)"')
    if id then
      ids[#ids + 1] = id
    end
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local total_ok, total_other = 0, 0
  local idfile = io.open(os.getenv("BENCH_IDS"), "w")
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    total_other = total_other + thread:get("other")
    for _, id in ipairs(thread:get("ids")) do
      idfile:write(id, "\n")
    end
  end
  idfile:close()
  local e = summary.errors
  local out = io.open(os.getenv("BENCH_OUT"), "w")
  out:write(string.format(
    '{"requests": %d, "ok": %d, "other": %d, "errors": %d, "duration_us": %d, '
      .. '"p50_us": %.1f, "p99_us": %.1f}\n',
    summary.requests,
    total_ok,
    total_other,
    e.connect + e.read + e.write + e.timeout,
    summary.duration,
    latency:percentile(50),
    latency:percentile(99)
  ))
  out:close()
end
