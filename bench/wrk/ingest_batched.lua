-- wrk script: POST /fhir transaction Bundles of BATCH CGM Observations.
--
-- Thread tid sends the patients p<i> with (i - 1) % THREADS == tid, round
-- robin; each request carries the next BATCH readings of its patient, 5
-- minutes apart from 2026-01-01T00:00:00Z on, so no reading repeats.
-- Environment: BATCH (100), PATIENTS (8), THREADS (2), MEDTWIN_TOKEN,
-- MEDTWIN_WRK_DIR.

package.path = (os.getenv("MEDTWIN_WRK_DIR") or "bench/wrk") .. "/?.lua;" ..
  package.path
local common = require("common")

local batch = tonumber(os.getenv("BATCH") or "100")
local npat = tonumber(os.getenv("PATIENTS") or "8")
local t0 = 1767225600 -- 2026-01-01T00:00:00Z
local step_s = 300

setup = common.setup
response = common.response
done = common.done

local mine, sent = nil, 0
local headers = common.headers({["Content-Type"] = "application/fhir+json"})

function init(args)
  mine = common.mine(npat)
end

function request()
  if common.unsent_call() then
    return wrk.format("GET", "/health")
  end
  local p = mine[sent % #mine + 1]
  local k0 = math.floor(sent / #mine) * batch
  sent = sent + 1
  local e = {}
  for i = 0, batch - 1 do
    local k = k0 + i
    e[#e + 1] = '{"resource":' ..
      common.cgm("p" .. p, t0 + k * step_s, common.glucose(k)) ..
      ',"request":{"method":"POST","url":"Observation"}}'
  end
  local body = '{"resourceType":"Bundle","type":"transaction","entry":[' ..
    table.concat(e, ",") .. ']}'
  return wrk.format("POST", "/fhir", headers, body)
end
