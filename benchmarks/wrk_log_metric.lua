-- wrk script: POST runs/log-metric, one run per wrk thread (run with -t N -c N, so one per connection).
-- After `--` on the wrk command line: the first step number, then one run id per thread. A warm-up
-- and the measured run share the runs, so they start at different steps (no duplicate points).

local next_id = 1

function setup(thread)
  -- Runs in the main Lua state once per thread, before init; gives each thread its index.
  thread:set("thread_index", next_id)
  next_id = next_id + 1
end

function init(args)
  step = tonumber(args[1])
  run_id = args[thread_index + 1]
  base_ts = 1700000000000
  headers = { ["Content-Type"] = "application/json" }
end

function request()
  step = step + 1
  local body = string.format(
    '{"run_id":"%s","key":"loss","value":%.6f,"timestamp":%d,"step":%d}',
    run_id, 1.0 / step, base_ts + step, step)
  return wrk.format("POST", "/api/2.0/mlflow/runs/log-metric", headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"status_errors":%d,"connect_errors":%d,' ..
    '"read_errors":%d,"write_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
