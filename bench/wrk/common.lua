-- Shared parts of the medtwin wrk scripts (bench/server_load): thread
-- numbering, the count of non-2xx answers with a sample of one, and the
-- summary printed as "RESULT key value" lines for the driving script.
--
-- Configuration comes from the environment, which bench/server_load sets:
-- THREADS must be wrk's -t (the scripts split patients between threads by
-- it, so that no two threads send the same patient and time); MEDTWIN_TOKEN
-- is the bearer token every request carries (the server denies by default).

local M = {}

M.threads = {}
M.nthreads = tonumber(os.getenv("THREADS") or "2")

-- The request headers: those given plus Authorization with MEDTWIN_TOKEN.
local token = os.getenv("MEDTWIN_TOKEN")
if not token or token == "" then
  error("MEDTWIN_TOKEN is not set: the server answers 401 without a token")
end
function M.headers(h)
  local t = {}
  for k, v in pairs(h or {}) do
    t[k] = v
  end
  t["Authorization"] = "Bearer " .. token
  return t
end

-- Globals of each thread's Lua state, read back in done() by thread:get().
tid = 0
bad = 0
bad_sample = nil

-- Runs in the main state, once per thread, before that thread's init().
function M.setup(thread)
  thread:set("tid", #M.threads)
  M.threads[#M.threads + 1] = thread
end

-- The 1-based indices p in 1..n with (p - 1) % nthreads == tid: the
-- patients this thread alone sends, so that no two threads send the same
-- patient and time.
function M.mine(n)
  local t = {}
  for p = tid + 1, n, M.nthreads do
    t[#t + 1] = p
  end
  if #t == 0 then
    error(string.format("thread %d has no patient: %d patients for %d threads",
                        tid, n, M.nthreads))
  end
  return t
end

-- wrk 4.1 calls request() once in thread 0 before any connection opens
-- (script_verify_request, to count pipelined requests) and never sends the
-- result. Scripts call this first in request(): true on that call, which
-- must not advance their counters (they answer it with GET /health, which
-- is harmless should another wrk send it).
local verified = false
function M.unsent_call()
  if tid == 0 and not verified then
    verified = true
    return true
  end
  return false
end

-- ISO 8601 UTC of a Unix time in seconds.
function M.iso(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", t)
end

-- A CGM trace (mg/dL, one decimal) at the k-th reading 5 minutes apart: a
-- daily swing between 85 and 135 plus a deterministic wobble of up to
-- 3 mg/dL, so that the twins' sensor-fault check sees no flat line (a value
-- repeated for 30 min) and no jump (over 5 mg/dL/min), docs/faults.md.
function M.glucose(k)
  local wobble = (k * 7919) % 61 / 10 - 3
  return string.format("%.1f",
                       110 + 25 * math.sin(2 * math.pi * k / 288) + wobble)
end

-- One CGM Observation (LOINC 99504-3, mg/dL) as FHIR JSON.
function M.cgm(patient, t, mgdl)
  return '{"resourceType":"Observation","status":"final",' ..
    '"code":{"coding":[{"system":"http://loinc.org","code":"99504-3",' ..
    '"display":"Glucose [Mass/volume] in Interstitial fluid"}]},' ..
    '"subject":{"reference":"Patient/' .. patient .. '"},' ..
    '"effectiveDateTime":"' .. M.iso(t) .. '",' ..
    '"valueQuantity":{"value":' .. mgdl .. ',"unit":"mg/dL",' ..
    '"system":"http://unitsofmeasure.org","code":"mg/dL"}}'
end

function M.response(status, headers, body)
  if status < 200 or status >= 300 then
    bad = bad + 1
    if not bad_sample then
      bad_sample = status .. " " .. string.sub(body or "", 1, 600)
    end
  end
end

function M.done(summary, latency, requests)
  local nbad, sample = 0, nil
  for _, t in ipairs(M.threads) do
    nbad = nbad + (t:get("bad") or 0)
    sample = sample or t:get("bad_sample")
  end
  local e = summary.errors
  local out = {
    {"requests", summary.requests},
    {"seconds", summary.duration / 1e6},
    {"non2xx", nbad},
    {"p50_ms", latency:percentile(50) / 1000},
    {"p99_ms", latency:percentile(99) / 1000},
    {"max_ms", latency.max / 1000},
    {"err_connect", e.connect},
    {"err_read", e.read},
    {"err_write", e.write},
    {"err_timeout", e.timeout},
  }
  for _, kv in ipairs(out) do
    io.write(string.format("RESULT %s %s\n", kv[1], tostring(kv[2])))
  end
  if sample then
    io.write("RESULT sample ", (string.gsub(sample, "[\r\n]+", " ")), "\n")
  end
end

return M
