-- wrk script: FHIR search of a patient's CGM readings, newest first.
--
--   GET /fhir/Observation?patient=p<i>&code=http://loinc.org|99504-3
--       &_count=50&_sort=-date[&date=ge2026-01-01&date=lt2026-01-02]
--
-- over the patients p1..p<PATIENTS> of ingest_batched.lua, round robin.
-- A searchset with no match is counted (RESULT empty) but is not an error.
-- Environment: PATIENTS (8), DATE_RANGE (0 or 1), THREADS (2),
-- MEDTWIN_TOKEN, MEDTWIN_WRK_DIR.

package.path = (os.getenv("MEDTWIN_WRK_DIR") or "bench/wrk") .. "/?.lua;" ..
  package.path
local common = require("common")

local npat = tonumber(os.getenv("PATIENTS") or "8")
local ranged = os.getenv("DATE_RANGE") == "1"

setup = common.setup

local mine, sent = nil, 0
local headers = common.headers()
empty = 0

function init(args)
  mine = common.mine(npat)
end

function request()
  local p = mine[sent % #mine + 1]
  sent = sent + 1
  local path = "/fhir/Observation?patient=p" .. p ..
    "&code=http://loinc.org%7C99504-3&_count=50&_sort=-date"
  if ranged then
    path = path .. "&date=ge2026-01-01&date=lt2026-01-02"
  end
  return wrk.format("GET", path, headers)
end

function response(status, headers, body)
  common.response(status, headers, body)
  if status == 200 and string.find(body, '"total":0', 1, true) then
    empty = empty + 1
  end
end

function done(summary, latency, requests)
  common.done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(common.threads) do
    n = n + (t:get("empty") or 0)
  end
  io.write(string.format("RESULT empty %d\n", n))
end
