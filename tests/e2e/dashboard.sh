#!/usr/bin/env bash
# End-to-end: the dashboard embedded in the binary. `medtwin serve` on a
# free port answers / and /assets/* with their media types, ETags and 304s,
# 404 for an unknown asset; three patients with twins and 36 CGM readings
# each (plus a meal and a bolus) are loaded through the API; then
# tests/browser/dashboard.mjs drives headless Chromium (playwright-core from
# the root node_modules): the list, one patient's chart with the forecast
# bands, a what-if. Screenshots: dashboard-list.png, dashboard-patient.png in
# the working directory (the build directory under ctest).
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

"$BIN" serve --listen 127.0.0.1:0 --data "$T/data" > "$T/out.txt" 2> "$T/err.txt" &
PID=$!
for i in $(seq 50); do grep -q serving "$T/out.txt" && break; sleep 0.1; done
PORT=$(sed -n 's|.*serving on http://[0-9.]*:\([0-9]*\).*|\1|p' "$T/out.txt")
U="http://127.0.0.1:$PORT"
check "listening on a reported port" '[ -n "$PORT" ]'

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
  ID=$(curl -s -X POST -H "Content-Type: application/fhir+json" \
    -d "{\"resourceType\":\"Patient\",\"name\":[{\"given\":[\"$given\"],\"family\":\"$family\"}]}" \
    "$U/fhir/Patient" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  curl -s -o /dev/null -X PUT -H "Content-Type: application/json" \
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
  curl -s -o /dev/null -X POST -H "Content-Type: application/json" --data-binary @"$T/data.json" "$U/api/twins/$ID/data"
  IDS="${IDS:-} $ID" k=$((k + 1))
done
ready() {
  for id in $IDS; do
    curl -s "$U/api/twins/$id" | grep -q '"readings":36' || return 1
  done
}
for i in $(seq 100); do ready && break; sleep 0.1; done
check "three twins took 36 readings each" 'ready'

node "$SRC/tests/browser/dashboard.mjs" "$U" "$N" "$PWD" > "$T/browser.txt" 2>&1
rc=$?
sed 's/^/  browser: /' "$T/browser.txt"
check "browser checks pass" '[ $rc -eq 0 ]'
check "screenshots written" '[ -s "$PWD/dashboard-list.png" ] && [ -s "$PWD/dashboard-patient.png" ]'

kill -TERM $PID; wait $PID; code=$?; PID=
check "SIGTERM exits 0" '[ $code -eq 0 ]'

# The demo's 30 twins in the browser (serve --demo at 600x): the list shows
# all 30, and a patient's page, its chart and a what-if work on them; its
# screenshots are the ones the README shows.
"$BIN" serve --demo --demo-speed 600 --listen 127.0.0.1:0 --data "$T/demo" > "$T/out.txt" 2> "$T/err.txt" &
PID=$!
for i in $(seq 50); do grep -q serving "$T/out.txt" && break; sleep 0.1; done
U="http://127.0.0.1:$(sed -n 's|.*serving on http://[0-9.]*:\([0-9]*\).*|\1|p' "$T/out.txt")"
demo_ready() { python3 - "$U" <<'PY'
import json, sys, urllib.request
t = json.load(urllib.request.urlopen(sys.argv[1] + "/api/twins"))["twins"]
sys.exit(not (len(t) == 30 and all(x["readings"] >= 36 for x in t)))
PY
}
for i in $(seq 60); do demo_ready && break; sleep 0.5; done
check "the demo's 30 twins have 3 h of readings each" 'demo_ready'
MEDTWIN_DEMO=1 node "$SRC/tests/browser/dashboard.mjs" "$U" 30 "$PWD" > "$T/browser.txt" 2>&1
rc=$?
sed 's/^/  browser (demo): /' "$T/browser.txt"
check "browser checks pass on the demo's 30 patients" '[ $rc -eq 0 ]'
kill -TERM $PID; wait $PID; code=$?; PID=
check "the demo stops on SIGTERM, exit 0" '[ $code -eq 0 ]'
echo "dashboard: $pass passed, $fail failed"
[ $fail -eq 0 ]
