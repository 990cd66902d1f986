-- GCBench on Lua 5.4, a peer of bench/gcbench.c (Ellis, Kovac, Boehm): a node
-- is a table with fields left, right, i and j, the long-lived array a table
-- of numbers. The collector runs in its default incremental mode (variant
-- lua) or in generational mode (mode=generational). Reports the processor
-- time of the whole run (see benchutil.lua).
--
-- Usage: lua5.4 gcbench.lua [--tiny] [mode=incremental|generational]
package.path = (arg[0]:match("^(.*/)") or "./") .. "?.lua;" .. package.path
local bu = require("benchutil")

local function node(left, right)
  return { left = left, right = right, i = 0, j = 0 }
end

local function tree_size(depth)
  return (1 << (depth + 1)) - 1
end

local function populate(depth, n)
  if depth <= 0 then return end
  depth = depth - 1
  n.left = node()
  n.right = node()
  populate(depth, n.left)
  populate(depth, n.right)
end

local function make_tree(depth)
  if depth <= 0 then return node() end
  return node(make_tree(depth - 1), make_tree(depth - 1))
end

local function count_nodes(n)
  if n == nil then return 0 end
  return 1 + count_nodes(n.left) + count_nodes(n.right)
end

local args = bu.parse_args(arg)
local stretch_depth, long_lived_depth, min_depth, max_depth, array_size = 18, 16, 4, 16, 500000
if args.tiny then
  stretch_depth, long_lived_depth, min_depth, max_depth, array_size = 8, 6, 4, 6, 5000
end
local variant = bu.lua_mode(args)

local t0 = os.clock()
make_tree(stretch_depth)
local long_lived = node()
populate(long_lived_depth, long_lived)
local array = {}
for i = 1, array_size do array[i] = 0.0 end
for i = 1, array_size // 2 - 1 do array[i + 1] = 1.0 / i end
for depth = min_depth, max_depth, 2 do
  local iters = 2 * tree_size(stretch_depth) // tree_size(depth)
  for _ = 1, iters do populate(depth, node()) end
  for _ = 1, iters do make_tree(depth) end
end
if array[1001] ~= 1.0 / 1000 then
  bu.fail("gcbench", "the long-lived array changed")
end
local t1 = os.clock()
if count_nodes(long_lived) ~= tree_size(long_lived_depth) then
  bu.fail("gcbench", "the long-lived tree lost nodes")
end
bu.result("gcbench", variant, "default", "time", t1 - t0, "s")
