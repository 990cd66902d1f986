-- Helpers of the Lua peers (bench/*.lua): the command line, the result line
-- read by bench/run.sh, resident-memory readings. Each peer prints the same
-- lines as the C programs (bench/bench.h):
--
--     @result <bench> <variant> <case> <metric> <value> <unit>
--
-- and exits with status 1 when a result it computed is wrong.
--
-- Lua has no wall clock finer than a second: times are the process's
-- processor time (os.clock, user and system), which for these programs, one
-- thread that never waits, is their wall time.
local M = {}

-- --tiny, --quick and NAME=VALUE settings, as the C programs take them.
function M.parse_args(argv)
  local args = { tiny = false, quick = false }
  for _, a in ipairs(argv) do
    if a == "--tiny" then
      args.tiny = true
    elseif a == "--quick" then
      args.quick = true
    else
      local k, v = a:match("^([^=]+)=(.*)$")
      if not k then
        io.stderr:write(arg[0], ": unknown argument ", a, " (use --tiny, --quick or NAME=VALUE)\n")
        os.exit(2)
      end
      args[k] = v
    end
  end
  return args
end

function M.arg_int(args, name, default)
  local v = args[name]
  if v == nil then return default end
  local n = tonumber(v)
  if not n then
    io.stderr:write(arg[0], ": ", name, " must be a number, not ", v, "\n")
    os.exit(2)
  end
  return math.floor(n)
end

-- n as "1eK" when it is a power of ten, else in decimal (bench_count_str).
function M.count_str(n)
  local e, p = 0, 1
  while p < n do
    p = p * 10
    e = e + 1
  end
  return p == n and ("1e" .. e) or tostring(n)
end

function M.result(bench, variant, case, metric, value, unit)
  io.write(string.format("@result %s %s %s %s %.6g %s\n", bench, variant, case, metric, value, unit))
  io.flush()
end

function M.fail(bench, what)
  io.stderr:write(bench, ": wrong result: ", what, "\n")
  os.exit(1)
end

-- A field of /proc/self/status (VmRSS, VmHWM) in bytes, 0 if unavailable.
function M.proc_status_bytes(field)
  local f = io.open("/proc/self/status", "r")
  if not f then return 0 end
  local text = f:read("a")
  f:close()
  local kb = text:match("\n" .. field .. ":%s*(%d+)")
  return kb and tonumber(kb) * 1024 or 0
end

-- The resident set in bytes, to subtract from a later peak: read twice, as
-- bench.h's bench_rss_baseline does, so that the code of the first read is
-- resident before the one that counts.
function M.rss_baseline_bytes()
  M.proc_status_bytes("VmRSS")
  return M.proc_status_bytes("VmRSS")
end

-- The variant name and the collector's mode: mode=incremental (Lua 5.4's
-- default) or mode=generational.
function M.lua_mode(args)
  local mode = args.mode or "incremental"
  if mode ~= "incremental" and mode ~= "generational" then
    io.stderr:write(arg[0], ": mode must be incremental or generational\n")
    os.exit(2)
  end
  collectgarbage(mode)
  return mode == "incremental" and "lua" or "lua-generational"
end

return M
