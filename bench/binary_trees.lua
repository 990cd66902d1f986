-- binary-trees on Lua 5.4, a peer of bench/binary_trees.c: the Computer
-- Language Benchmarks Game's Lua program, a node a table { left, right }
-- and a leaf an empty table, so that every node is allocated, as in the C
-- programs. The collector runs in its default incremental mode (variant lua)
-- or in generational mode (mode=generational, variant lua-generational).
-- Reports the processor time of the whole run (see benchutil.lua); node
-- counts are checked.
--
-- Usage: lua5.4 binary_trees.lua [--tiny] [depth=N] [mode=incremental|generational]
package.path = (arg[0]:match("^(.*/)") or "./") .. "?.lua;" .. package.path
local bu = require("benchutil")

local function bottom_up_tree(depth)
  if depth > 0 then
    depth = depth - 1
    local left, right = bottom_up_tree(depth), bottom_up_tree(depth)
    return { left, right }
  end
  return {}
end

local function item_check(tree)
  if tree[1] then
    return 1 + item_check(tree[1]) + item_check(tree[2])
  end
  return 1
end

local function expect(got, iterations, depth)
  local want = iterations * ((2 << depth) - 1)
  if got ~= want then
    bu.fail("binary-trees", string.format("depth %d: check %d, expected %d", depth, got, want))
  end
end

local function run(max_depth)
  local min_depth = 4
  local stretch_depth = max_depth + 1
  expect(item_check(bottom_up_tree(stretch_depth)), 1, stretch_depth)
  local long_lived = bottom_up_tree(max_depth)
  for depth = min_depth, max_depth, 2 do
    local iterations = 1 << (max_depth - depth + min_depth)
    local check = 0
    for _ = 1, iterations do
      check = check + item_check(bottom_up_tree(depth))
    end
    expect(check, iterations, depth)
  end
  expect(item_check(long_lived), 1, max_depth)
end

local args = bu.parse_args(arg)
local depth = math.max(6, bu.arg_int(args, "depth", args.tiny and 6 or 16))
local variant = bu.lua_mode(args)
local t0 = os.clock()
run(depth)
local t1 = os.clock()
bu.result("binary-trees", variant, "depth" .. depth, "time", t1 - t0, "s")
