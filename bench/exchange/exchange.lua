-- wrk script for the exchange benchmark (used by run.ts; do not run by hand without the env).
--
-- Every request is the same POST: the token-exchange form, with the Django session cookie.
-- Environment (set by run.ts, so the cookie never appears on a command line):
--   BENCH_COOKIE   "sessionid=<value>"
--   BENCH_PATH     request path, e.g. /token
--   BENCH_HEADERS  optional extra header lines, "Name: value" separated by "\n"
--
-- A fast error is not a result: each thread counts responses whose status is not 200, and
-- done() prints one machine-readable line that run.ts parses:
--   BENCH_JSON {"requests":..,"non200":..,"first_bad_status":..,...}

wrk.method = "POST"
wrk.path = os.getenv("BENCH_PATH") or "/token"
wrk.body = "grant_type=urn:ietf:params:oauth:grant-type:token-exchange"
  .. "&subject_token_type=urn:django:session"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE") or ""
for line in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^\n]+") do
  local name, value = string.match(line, "^%s*([^:]+):%s*(.-)%s*$")
  if name then wrk.headers[name] = value end
end

-- Main Lua state: remember each thread so done() can read its counters.
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

-- Per-thread Lua states from here on.
ok200 = 0
non200 = 0
first_bad_status = 0

function response(status, headers, body)
  if status == 200 then
    ok200 = ok200 + 1
  else
    non200 = non200 + 1
    if first_bad_status == 0 then first_bad_status = status end
  end
end

function done(summary, latency, requests)
  local ok, bad, first = 0, 0, 0
  for _, t in ipairs(threads) do
    ok = ok + t:get("ok200")
    bad = bad + t:get("non200")
    local f = t:get("first_bad_status")
    if first == 0 and f ~= 0 then first = f end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"ok200":%d,"non200":%d,'
      .. '"first_bad_status":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,'
      .. '"timeout":%d},"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes, ok, bad, first,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max))
end
