-- wrk script: POST /fhir/Observation, one CGM reading a request.
--
-- PATIENT_IDS (comma-separated ids of stored Patients with twins) are split
-- between threads by position; thread tid sends its patients round robin,
-- each patient's readings 5 minutes apart and advancing in time, so no two
-- connections send the same patient and time, and a patient's next reading
-- is sent only after as many requests as the thread has patients.
-- Environment: PATIENT_IDS, THREADS (2), MEDTWIN_TOKEN,
-- MEDTWIN_WRK_DIR.

package.path = (os.getenv("MEDTWIN_WRK_DIR") or "bench/wrk") .. "/?.lua;" ..
  package.path
local common = require("common")

local ids = {}
for id in string.gmatch(os.getenv("PATIENT_IDS") or "", "[^,]+") do
  ids[#ids + 1] = id
end
local t0 = 1767225600 -- 2026-01-01T00:00:00Z
local step_s = 300

setup = common.setup
response = common.response
done = common.done

local mine, sent = nil, 0
local headers = common.headers({["Content-Type"] = "application/fhir+json"})

function init(args)
  mine = common.mine(#ids)
end

function request()
  if common.unsent_call() then
    return wrk.format("GET", "/health")
  end
  local p = ids[mine[sent % #mine + 1]]
  local k = math.floor(sent / #mine)
  sent = sent + 1
  local body = common.cgm(p, t0 + k * step_s, common.glucose(k))
  return wrk.format("POST", "/fhir/Observation", headers, body)
end
