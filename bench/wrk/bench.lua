-- wrk script for the bench runner.
--   wrk ... -s bench.lua <url> -- publish <topic> <batch>   POST /events with <batch> fresh events per request
--   wrk ... -s bench.lua <url> -- get                        GET the URL as given
-- done() prints one line "WRK_JSON {...}" that bench/lib/wrk.ts parses.

local mode = "get"
local topic = "bench"
local batch = 1
local n = 0
local get_request = nil

function init(args)
  mode = args[1] or "get"
  topic = args[2] or "bench"
  batch = tonumber(args[3]) or 1
  if mode == "publish" then
    wrk.method = "POST"
    wrk.path = "/events"
    wrk.headers["Content-Type"] = "application/json"
  else
    get_request = wrk.format()
  end
end

-- Same item as bench/lib/fixture.ts publishItem(n): ~100 bytes, schema-valid.
local item = '{"topic":"%s","type":"e","payload":{"id":"%d","name":"bench user","n":%d}}'

function request()
  if mode ~= "publish" then
    return get_request
  end
  local parts = {}
  for i = 1, batch do
    n = n + 1
    parts[i] = string.format(item, topic, n, n)
  end
  return wrk.format(nil, nil, nil, "[" .. table.concat(parts, ",") .. "]")
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"durationUs":%d,"connectErrors":%d,"readErrors":%d,"writeErrors":%d,"statusErrors":%d,"timeouts":%d,"p50Us":%d,"p99Us":%d,"maxUs":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
