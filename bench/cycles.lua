-- Cycle collection on Lua 5.4, a peer of bench/cycles.c: N two-slot tables in
-- 2-object cycles, unreachable (case=unreachable) or each pair held from a
-- table (case=reachable), then one timed full collection
-- (collectgarbage("collect")). Automatic collection is stopped while the
-- objects are made. Lua's collector traces: it marks what is reachable and
-- sweeps every object, so a cycle costs it nothing more than any other
-- object. What the collection freed is checked with collectgarbage("count").
--
-- Usage: lua5.4 cycles.lua [--tiny] [n=N] [case=unreachable|reachable]
package.path = (arg[0]:match("^(.*/)") or "./") .. "?.lua;" .. package.path
local bu = require("benchutil")

local function build(n, roots)
  for _ = 1, n // 2 do
    local a = { false, false }
    local b = { a, false }
    a[1] = b
    if roots then roots[#roots + 1] = a end
  end
end

local function measure(n, reachable)
  collectgarbage("stop")
  collectgarbage("collect")
  local roots = reachable and {} or nil
  local before = collectgarbage("count")
  build(n, roots)
  local built = collectgarbage("count") - before
  local t0 = os.clock()
  collectgarbage("collect")
  local t1 = os.clock()
  local freed = before + built - collectgarbage("count")
  -- Each pair is at least 2 * 56 bytes: garbage leaves next to nothing,
  -- reachable pairs stay.
  if reachable then
    if freed > built / 100 then
      bu.fail("cycles", string.format("%.0f KiB of %.0f freed from reachable pairs", freed, built))
    end
  elseif freed < built * 0.99 or built < n * 56 / 1024 then
    bu.fail("cycles", string.format("%.0f KiB of %.0f freed from unreachable pairs", freed, built))
  end
  if roots and #roots ~= n // 2 then bu.fail("cycles", "pairs lost") end
  collectgarbage("restart")
  return (t1 - t0) * 1e9
end

local args = bu.parse_args(arg)
local n = bu.arg_int(args, "n", args.tiny and 10000 or 1000000)
n = n + (n & 1)
local which = args.case or "both"
for _, case in ipairs({ "unreachable", "reachable" }) do
  if which == "both" or which == case then
    local ns = measure(n, case == "reachable")
    local name = case .. "-" .. bu.count_str(n)
    bu.result("cycles", "lua", name, "time_per_object", ns / n, "ns")
    bu.result("cycles", "lua", name, "time", ns / 1e6, "ms")
  end
end
