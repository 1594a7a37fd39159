-- Tokengate bench: wrk prints one JSON line at the end (bench/load.ts reads it).
-- Latencies are microseconds; errors.status counts answers with a status over 399.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"tokengate_wrk":1,"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
