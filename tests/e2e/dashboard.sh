#!/usr/bin/env bash
# End-to-end: the dashboard embedded in the binary. `medtwin serve` on a
# free port answers / and /assets/* with their media types, ETags and 304s,
# 404 for an unknown asset, 401 for the API without credentials. A clinician
# user (nurse) and an admin token are made with the CLI; with the token,
# three patients with twins and 36 CGM readings each (plus a meal and a
# bolus) and a fourth outside the nurse's care team are loaded through the
# API, and the nurse's care team gets the three. Then
# tests/browser/dashboard.mjs drives headless Chromium (playwright-core from
# the root node_modules): sign-in, the list, one patient's chart with the
# forecast bands, a what-if, sign-out; a second run against a server with
# --session-idle 3 checks the automatic sign-out. A fifth patient with a
# cardiovascular twin (circulation_beatavg) and falling blood pressure is
# then opened by tests/browser/heart.mjs: its MAP in the list, its MAP
# chart with the 65 mmHg line. Screenshots: dashboard-list.png,
# dashboard-patient.png, dashboard-heart.png in the working directory (the
# build directory under ctest).
set -u
BIN=$1
SRC=$2
if [ ! -d "$SRC/node_modules/playwright-core" ] || [ ! -d "$SRC/node_modules/uplot" ]; then
  echo "FAIL: $SRC/node_modules lacks playwright-core or uplot: run \`npm ci\` at the repository root (scripts/install-deps), then cmake again"
  exit 1
fi
command -v node > /dev/null || { echo "FAIL: node is not installed (scripts/install-deps)"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/medtwin-dashboard.XXXXXX") || exit 1
PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$T"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }

# The server has no users at first: a clinician and, for this script's own
# requests, an admin token.
PW=a-long-pass
echo "$PW" | "$BIN" user add --data "$T/data" --name nurse --role clinician > /dev/null 2>&1
ucode=$?
TOKEN=$("$BIN" token create --data "$T/data" --role admin 2> /dev/null)
check "the CLI adds a user and makes an admin token" '[ $ucode -eq 0 ] && [ -n "$TOKEN" ]'
AUTH="Authorization: Bearer $TOKEN"

"$BIN" serve --listen 127.0.0.1:0 --data "$T/data" > "$T/out.txt" 2> "$T/err.txt" &
PID=$!
for i in $(seq 50); do grep -q serving "$T/out.txt" && break; sleep 0.1; done
PORT=$(sed -n 's|.*serving on http://[0-9.]*:\([0-9]*\).*|\1|p' "$T/out.txt")
U="http://127.0.0.1:$PORT"
check "listening on a reported port" '[ -n "$PORT" ]'
check "the API without credentials answers 401" '[ "$(curl -s -o /dev/null -w "%{http_code}" $U/api/twins)" = 401 ]'

hdr() { curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code} %{content_type}' "$@"; }
check "/ is the page, html, no-cache with an ETag" '[ "$(hdr $U/)" = "200 text/html; charset=utf-8" ] && grep -q "<script src=\"/assets/app.js\">" "$T/body" && grep -qi "^Cache-Control: no-cache" "$T/hdr" && grep -qi "^ETag: \"" "$T/hdr"'
ETAG=$(sed -n 's/^[Ee][Tt][Aa][Gg]: \(.*\)\r$/\1/p' "$T/hdr")
check "If-None-Match answers 304" '[ "$(curl -s -o /dev/null -w "%{http_code}" -H "If-None-Match: $ETAG" $U/)" = 304 ]'
check "app.js is javascript" '[ "$(hdr $U/assets/app.js)" = "200 text/javascript; charset=utf-8" ] && cmp -s "$T/body" "$SRC/web/app.js"'
check "style.css is css" '[ "$(hdr $U/assets/style.css)" = "200 text/css; charset=utf-8" ]'
check "uPlot is embedded" '[ "$(hdr $U/assets/uPlot.iife.min.js)" = "200 text/javascript; charset=utf-8" ] && cmp -s "$T/body" "$SRC/node_modules/uplot/dist/uPlot.iife.min.js" && [ "$(hdr $U/assets/uPlot.min.css)" = "200 text/css; charset=utf-8" ]'
check "unknown asset 404 OperationOutcome" '[ "$(curl -s -o "$T/body" -w "%{http_code}" $U/assets/nothing.js)" = 404 ] && grep -q OperationOutcome "$T/body"'

# Three patients, each with a twin and three hours of readings ending now.
N=3 k=0
for name in "Ada Lovelace" "Alan Turing" "Grace Hopper"; do
  given=${name% *} family=${name#* }
  ID=$(curl -s -X POST -H "$AUTH" -H "Content-Type: application/fhir+json" \
    -d "{\"resourceType\":\"Patient\",\"name\":[{\"given\":[\"$given\"],\"family\":\"$family\"}]}" \
    "$U/fhir/Patient" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  curl -s -o /dev/null -X PUT -H "$AUTH" -H "Content-Type: application/json" \
    -d '{"model":"uva_padova_t1d","group":"adult","seed":1}' "$U/api/twins/$ID"
  python3 - "$ID" "$k" > "$T/data.json" <<'PY'
import datetime, json, math, sys
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
t0 = now - datetime.timedelta(minutes=5 * 35 + 1)
iso = lambda t: t.isoformat().replace("+00:00", "Z")
k = int(sys.argv[2])  # the first patient falls towards a low
mg = (lambda i: 170 - i if i < 20 else 150 - 5.5 * (i - 20)) if k == 0 else (lambda i: 130 + 35 * math.sin((i + 9 * k) / 7))
cgm = [{"time": iso(t0 + datetime.timedelta(minutes=5 * i)), "mg_dl": round(mg(i), 1)}
       for i in range(36)]
print(json.dumps({"cgm": cgm, "carbs": [{"time": cgm[8]["time"], "g": 45}],
                  "bolus": [{"time": cgm[8]["time"], "units": 4}]}))
PY
  curl -s -o /dev/null -X POST -H "$AUTH" -H "Content-Type: application/json" --data-binary @"$T/data.json" "$U/api/twins/$ID/data"
  "$BIN" careteam add --data "$T/data" --user nurse --patient "$ID" > /dev/null 2>&1 || echo "careteam add $ID failed"
  IDS="${IDS:-} $ID" k=$((k + 1))
done
# A fourth patient with a twin, outside the nurse's care team.
HID=$(curl -s -X POST -H "$AUTH" -H "Content-Type: application/fhir+json" \
  -d '{"resourceType":"Patient","name":[{"given":["Outside"],"family":"Careteam"}]}' \
  "$U/fhir/Patient" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -s -o /dev/null -X PUT -H "$AUTH" -H "Content-Type: application/json" \
  -d '{"model":"uva_padova_t1d","group":"adult","seed":2}' "$U/api/twins/$HID"
ready() {
  for id in $IDS; do
    curl -s -H "$AUTH" "$U/api/twins/$id" | grep -q '"readings":36' || return 1
  done
}
for i in $(seq 100); do ready && break; sleep 0.1; done
check "three twins took 36 readings each" 'ready'
check "the admin token sees four twins" '[ "$(curl -s -H "$AUTH" $U/api/twins | grep -o "\"patient\"" | wc -l)" -eq 4 ]'

MEDTWIN_USER=nurse MEDTWIN_PASSWORD=$PW MEDTWIN_HIDDEN=$HID MEDTWIN_HIDDEN_NAME="Outside Careteam" \
  node "$SRC/tests/browser/dashboard.mjs" "$U" "$N" "$PWD" > "$T/browser.txt" 2>&1
rc=$?
sed 's/^/  browser: /' "$T/browser.txt"
check "browser checks pass" '[ $rc -eq 0 ]'
check "screenshots written" '[ -s "$PWD/dashboard-list.png" ] && [ -s "$PWD/dashboard-patient.png" ]'

# A patient whose twin is the cardiovascular one (circulation_beatavg):
# four hours of vitals ending now as FHIR Observations (MAP 8478-0, the
# 85354-9 panel, heart rate 8867-4), MAP flat at 82 mmHg then falling 0.2
# mmHg/min for the last two hours to 58 mmHg, and a furosemide dose (RxNorm
# 4603); its twin warns of hypotension. tests/browser/heart.mjs checks the
# list's MAP and the page's MAP chart with its 65 mmHg line. The nurse's
# care team gets it, so the idle run below lists N + 1 patients.
CID=$(curl -s -X POST -H "$AUTH" -H "Content-Type: application/fhir+json" \
  -d '{"resourceType":"Patient","name":[{"given":["Florence"],"family":"Nightingale"}]}' \
  "$U/fhir/Patient" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -s -o /dev/null -X PUT -H "$AUTH" -H "Content-Type: application/json" \
  -d '{"model":"circulation_beatavg","prior":"adult","seed":1}' "$U/api/twins/$CID"
LAST_MAP=$(python3 - "$U" "$TOKEN" "$CID" <<'PY'
import datetime, json, sys, urllib.request
U, TOKEN, P = sys.argv[1:4]
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
t0 = now - datetime.timedelta(minutes=241)
iso = lambda m: (t0 + datetime.timedelta(minutes=m)).isoformat().replace("+00:00", "Z")
def post(body):
    r = urllib.request.Request(U + "/fhir/" + body["resourceType"], method="POST", data=json.dumps(body).encode(),
                               headers={"Content-Type": "application/fhir+json", "Authorization": "Bearer " + TOKEN})
    urllib.request.urlopen(r).read()
q = lambda v, u: {"value": v, "unit": u, "system": "http://unitsofmeasure.org", "code": u}
cc = lambda c: {"coding": [{"system": "http://loinc.org", "code": c}]}
def obs(t, **kw):
    return dict({"resourceType": "Observation", "status": "final", "subject": {"reference": "Patient/" + P},
                 "effectiveDateTime": iso(t)}, **kw)
post(obs(0, code=cc("8867-4"), valueQuantity=q(80, "/min")))
m = 0
for t in range(0, 241, 15):
    m = round(82 if t < 120 else 82 - (t - 120) * 0.2)
    post(obs(t, code=cc("85354-9"), component=[{"code": cc("8480-6"), "valueQuantity": q(m + 30, "mm[Hg]")},
                                              {"code": cc("8462-4"), "valueQuantity": q(m - 15, "mm[Hg]")}]))
    post(obs(t, code=cc("8478-0"), valueQuantity=q(m, "mm[Hg]")))
    if t == 60:  # in time order: data over an hour late are quarantined
        post({"resourceType": "MedicationAdministration", "status": "completed", "subject": {"reference": "Patient/" + P},
              "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "4603"}]},
              "effectiveDateTime": iso(60), "dosage": {"dose": q(40, "mg")}})
print(m)
PY
)
"$BIN" careteam add --data "$T/data" --user nurse --patient "$CID" > /dev/null 2>&1 || echo "careteam add $CID failed"
check "the heart twin took the vitals and warns of hypotension" 'curl -s -H "$AUTH" "$U/api/twins/$CID" | python3 -c "
import json,sys
j=json.load(sys.stdin)
sys.exit(not (j[\"model\"]==\"circulation_beatavg\" and j[\"readings\"]==51 and j[\"inputs\"]==2 and j[\"refused\"]==0 and j[\"unit\"]==\"mm[Hg]\" and any(a[\"kind\"]==\"hypotension\" for a in j[\"alerts\"])))"'
MEDTWIN_USER=nurse MEDTWIN_PASSWORD=$PW MEDTWIN_LAST_MAP=$LAST_MAP \
  node "$SRC/tests/browser/heart.mjs" "$U" "$CID" "$PWD" > "$T/browser.txt" 2>&1
rc=$?
sed 's/^/  browser (heart): /' "$T/browser.txt"
check "browser: the heart patient's MAP chart and its 65 mmHg line" '[ $rc -eq 0 ] && [ -s "$PWD/dashboard-heart.png" ]'
N=$((N + 1))

kill -TERM $PID; wait $PID; code=$?; PID=
check "SIGTERM exits 0" '[ $code -eq 0 ]'

# Automatic sign-out: the same data, sessions ending after 3 s unused.
"$BIN" serve --session-idle 3 --listen 127.0.0.1:0 --data "$T/data" > "$T/out-idle.txt" 2> "$T/err-idle.txt" &
PID=$!
for i in $(seq 50); do grep -q serving "$T/out-idle.txt" && break; sleep 0.1; done
U="http://127.0.0.1:$(sed -n 's|.*serving on http://[0-9.]*:\([0-9]*\).*|\1|p' "$T/out-idle.txt")"
MEDTWIN_IDLE=3 MEDTWIN_USER=nurse MEDTWIN_PASSWORD=$PW \
  node "$SRC/tests/browser/dashboard.mjs" "$U" "$N" "$PWD" > "$T/browser.txt" 2>&1
rc=$?
sed 's/^/  browser (idle): /' "$T/browser.txt"
check "browser: signed out after the idle time" '[ $rc -eq 0 ]'
kill -TERM $PID; wait $PID; PID=

# The demo's 30 twins in the browser (serve --demo at 600x), signed in as
# the demo user with the password the server prints: the list shows all 30,
# and a patient's page, its chart and a what-if work on them; its
# screenshots are the ones the README shows.
"$BIN" serve --demo --demo-speed 600 --listen 127.0.0.1:0 --data "$T/demo" > "$T/out-demo.txt" 2> "$T/err-demo.txt" &
PID=$!
for i in $(seq 50); do grep -q serving "$T/out-demo.txt" && break; sleep 0.1; done
U="http://127.0.0.1:$(sed -n 's|.*serving on http://[0-9.]*:\([0-9]*\).*|\1|p' "$T/out-demo.txt")"
DEMO_PW=$(sed -n 's/^demo: sign in as demo, password //p' "$T/out-demo.txt")
check "the demo prints its sign-in" '[ -n "$DEMO_PW" ]'
DTOKEN=$("$BIN" token create --data "$T/demo" --role admin 2> /dev/null)
demo_ready() { python3 - "$U" "$DTOKEN" <<'PY'
import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/api/twins", headers={"Authorization": "Bearer " + sys.argv[2]})
t = json.load(urllib.request.urlopen(req))["twins"]
sys.exit(not (len(t) == 30 and all(x["readings"] >= 36 for x in t)))
PY
}
for i in $(seq 60); do demo_ready && break; sleep 0.5; done
check "the demo's 30 twins have 3 h of readings each" 'demo_ready'
MEDTWIN_DEMO=1 MEDTWIN_USER=demo MEDTWIN_PASSWORD=$DEMO_PW \
  node "$SRC/tests/browser/dashboard.mjs" "$U" 30 "$PWD" > "$T/browser.txt" 2>&1
rc=$?
sed 's/^/  browser (demo): /' "$T/browser.txt"
check "browser checks pass on the demo's 30 patients" '[ $rc -eq 0 ]'
kill -TERM $PID; wait $PID; code=$?; PID=
check "the demo stops on SIGTERM, exit 0" '[ $code -eq 0 ]'
echo "dashboard: $pass passed, $fail failed"
[ $fail -eq 0 ]
