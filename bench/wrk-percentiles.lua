-- wrk -s bench/wrk-percentiles.lua: one line with req/s and the latency percentiles wrk's --latency leaves out
-- (p95 to p99.99 and the max, in µs), to see where a distribution's tail starts (docs/profiling.md).
done = function(summary, latency, requests)
  local out = {}
  for _, p in ipairs({50, 90, 95, 98, 99, 99.5, 99.9, 99.99}) do
    out[#out + 1] = string.format("p%s=%.0f", p, latency:percentile(p))
  end
  io.write(string.format("req/s=%.0f ", summary.requests / (summary.duration / 1e6)),
    table.concat(out, " "), string.format(" max=%.0f\n", latency.max))
end
