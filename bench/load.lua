-- The mixed load of bench/load.py: each request's kind from a shuffled schedule by weight
-- (BENCH_MIX), survey pages and first-step posts from BENCH_PAGES ("token form"), signed
-- inbound SMS from BENCH_HOOKS ("signature form"), dashboard pages (BENCH_BOARDS) with the
-- staff cookie (BENCH_COOKIE). Posts and webhooks are each used once: thread t of n takes
-- rows t, t + n, t + 2n… done() prints one JSON line after "BENCH " that the bench reads.
local function read(name)
  local rows = {}
  for line in io.lines(os.getenv(name)) do rows[#rows + 1] = line end
  return rows
end
local pages = read("BENCH_PAGES")  -- "token form_body"
local hooks = read("BENCH_HOOKS")  -- "signature form_body"
local boards = {}
for path in string.gmatch(os.getenv("BENCH_BOARDS"), "[^,]+") do boards[#boards + 1] = path end
local cookie = os.getenv("BENCH_COOKIE")
-- The warm-up takes its posts and webhooks from the end of the lists, the run from the start.
local from_end = os.getenv("BENCH_WARMUP") == "1"
local function pick(rows, i)
  if from_end then return rows[#rows - i % #rows] end
  return rows[i % #rows + 1]
end
local all = {}
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
  thread:set("nthreads", tonumber(os.getenv("BENCH_THREADS")))
  table.insert(all, thread)
end

function init(args)
  schedule = {}
  for kind, weight in string.gmatch(os.getenv("BENCH_MIX"), "([%w_]+)=(%d+)") do
    for _ = 1, tonumber(weight) do schedule[#schedule + 1] = kind end
  end
  math.randomseed(1000 + tid)
  for i = #schedule, 2, -1 do
    local j = math.random(i)
    schedule[i], schedule[j] = schedule[j], schedule[i]
  end
  n, gets, posts, sent, reads = 0, 0, 0, 0, 0
  posts_wrapped, hooks_wrapped = 0, 0
  s2, s3, s4, s5 = 0, 0, 0, 0
end

local function headers(extra)
  local h = {["X-Forwarded-For"] = "10.77." .. (n * 7919 + tid) % 16 .. "." .. (n * 31 + tid) % 256}
  for k, v in pairs(extra) do h[k] = v end
  return h
end

local FORM = "application/x-www-form-urlencoded"

function request()
  n = n + 1
  local kind = schedule[(n - 1) % #schedule + 1]
  if kind == "survey_get" then
    gets = gets + 1
    local row = pages[((gets - 1) * nthreads + tid - 1) % #pages + 1]
    return wrk.format("GET", "/s/" .. row:sub(1, row:find(" ") - 1) .. "?lang=zh", headers({}))
  elseif kind == "answer_post" then
    posts = posts + 1
    local i = (posts - 1) * nthreads + tid - 1
    if i >= #pages then posts_wrapped = posts_wrapped + 1 end
    local row = pick(pages, i)
    local space = row:find(" ")
    return wrk.format("POST", "/s/" .. row:sub(1, space - 1) .. "?lang=zh",
      headers({["Content-Type"] = FORM}), row:sub(space + 1))
  elseif kind == "webhook" then
    sent = sent + 1
    local i = (sent - 1) * nthreads + tid - 1
    if i >= #hooks then hooks_wrapped = hooks_wrapped + 1 end
    local row = pick(hooks, i)
    local space = row:find(" ")
    return wrk.format("POST", "/webhooks/twilio/sms",
      headers({["Content-Type"] = FORM, ["X-Twilio-Signature"] = row:sub(1, space - 1)}),
      row:sub(space + 1))
  end
  reads = reads + 1
  return wrk.format("GET", boards[(reads - 1) % #boards + 1] .. "?lang=zh",
    headers({["Cookie"] = cookie}))
end

function response(status, headers, body)
  if status < 300 then s2 = s2 + 1
  elseif status < 400 then s3 = s3 + 1
  elseif status < 500 then s4 = s4 + 1
  else s5 = s5 + 1 end
end

function done(summary, latency, requests)
  local t = {s2 = 0, s3 = 0, s4 = 0, s5 = 0, posts_wrapped = 0, hooks_wrapped = 0}
  for _, thread in ipairs(all) do
    for k, _ in pairs(t) do t[k] = t[k] + thread:get(k) end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
    .. '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, '
    .. '"s2": %d, "s3": %d, "s4": %d, "s5": %d, "posts_wrapped": %d, "hooks_wrapped": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout,
    t.s2, t.s3, t.s4, t.s5, t.posts_wrapped, t.hooks_wrapped))
end
