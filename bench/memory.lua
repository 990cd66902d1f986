-- Memory on Lua 5.4, a peer of bench/memory.c: N tables of two array slots
-- ({ next, false }) kept alive as a chain. Reports the bytes the collector
-- counts per object (collectgarbage("count") before and after, with
-- automatic collection stopped), the overhead over 16 payload bytes, and the
-- peak resident set (VmHWM) minus the resident set before the objects were
-- made.
--
-- Usage: lua5.4 memory.lua [--tiny] [n=N]
package.path = (arg[0]:match("^(.*/)") or "./") .. "?.lua;" .. package.path
local bu = require("benchutil")

local PAYLOAD = 16
local args = bu.parse_args(arg)
local n = bu.arg_int(args, "n", args.tiny and 20000 or 1000000)

collectgarbage("stop")
collectgarbage("collect")
local baseline = bu.rss_baseline_bytes()
local before = collectgarbage("count")
local head = false
for _ = 1, n do
  head = { head, false }
end
local peak = bu.proc_status_bytes("VmHWM")
local block = (collectgarbage("count") - before) * 1024 / n

local count, x = 0, head
while x do
  count = count + 1
  x = x[1]
end
if count ~= n then bu.fail("memory", "the chain lost objects") end

local case = "two-slot-" .. bu.count_str(n)
bu.result("memory", "lua", case, "block", block, "B")
bu.result("memory", "lua", case, "overhead", block - PAYLOAD, "B")
if baseline > 0 and peak > baseline then
  bu.result("memory", "lua", case, "peak_rss_per_object", (peak - baseline) / n, "B")
  bu.result("memory", "lua", case, "peak_rss", (peak - baseline) / 1048576, "MiB")
end
