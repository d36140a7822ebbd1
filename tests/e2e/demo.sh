#!/usr/bin/env bash
# End-to-end: `medtwin serve --demo` at 600x (a 5-min step every 0.5 s).
# Within 30 s: 30 twins (10 adults, 10 adolescents, 10 children), each with
# readings; readings (assimilated or refused) grow between two polls; every
# twin has a forecast; each
# Patient carries its virtual id; alerts were raised across the 30 (at 600x
# 30 s are 5 h of the patients' lives; `twin replay` of adult#001 and
# child#001 raises 8 and 18 alerts in two days, and the 30 have raised 10 to
# 21 in 5 h, at night and in the day, so none at all does not happen);
# SIGTERM stops it with exit 0 in under 5 s. Access: the login the demo
# prints (`demo: sign in as demo, password ...`) opens a session (POST
# /api/login, the cookie kept by curl) in which the demo user, a clinician
# whose care team is the 30, sees all of the above; without credentials
# /api/twins is 401, and a wrong password is 401.
set -u
BIN=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/medtwin-demo.XXXXXX") || exit 1
PID=
trap '[ -n "$PID" ] && kill -9 $PID 2>/dev/null; rm -rf "$T"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }

"$BIN" serve --demo --demo-speed 600 --listen 127.0.0.1:0 --data "$T/data" \
  > "$T/out.txt" 2> "$T/err.txt" &
PID=$!
for i in $(seq 50); do grep -q "^demo: sign in" "$T/out.txt" && break; sleep 0.1; done
PORT=$(sed -n 's|.*serving on http://127.0.0.1:\([0-9]*\).*|\1|p' "$T/out.txt")
U="http://127.0.0.1:$PORT"
check "serving, and the demo's line with its URL" '[ -n "$PORT" ] && grep -q "^demo: 30 virtual patients at 600x; open $U/" "$T/out.txt"'
PW=$(sed -n 's/^demo: sign in as demo, password \(.*\)$/\1/p' "$T/out.txt")
check "the demo's login line, the second demo line" '[ -n "$PW" ] && [ "$(grep "^demo:" "$T/out.txt" | sed -n 2p)" = "demo: sign in as demo, password $PW" ]'
check "without credentials /api/twins is 401" '[ "$(curl -s -o "$T/body" -w "%{http_code}" "$U/api/twins")" = 401 ] && grep -q OperationOutcome "$T/body"'
check "a wrong password is 401, no cookie" '[ "$(curl -s -c "$T/badjar" -o "$T/body" -w "%{http_code}" -H "Content-Type: application/json" -d "{\"user\":\"demo\",\"password\":\"not-$PW\"}" "$U/api/login")" = 401 ] && ! grep -q mt_session "$T/badjar"'
check "the printed login works: 200, a clinician session cookie" '[ "$(curl -s -c "$T/jar" -o "$T/login.json" -w "%{http_code}" -H "Content-Type: application/json" -d "{\"user\":\"demo\",\"password\":\"$PW\"}" "$U/api/login")" = 200 ] && grep -q mt_session "$T/jar" && python3 - "$T/login.json" <<PY
import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(not (j["role"] == "clinician" and j["user"] == "demo" and j["csrf"]))
PY'
# Every request below is the demo user's, with the session cookie (GETs need
# no CSRF header); Python sends the cookie as a header.
get() { curl -s -b "$T/jar" "$@"; }
export MT_COOKIE="mt_session=$(awk '$6 == "mt_session" {print $7}' "$T/jar")"

# The twins of all 30 patients, each with readings (within 30 s).
twins() { get "$U/api/twins" > "$1" && python3 - "$1" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["twins"]
sys.exit(not (len(t) == 30 and all(x["readings"] > 0 for x in t)))
PY
}
start=$SECONDS
until twins "$T/t1.json" || [ $((SECONDS - start)) -ge 30 ]; do sleep 0.5; done
check "30 twins with readings within 30 s, in the demo user's session" 'twins "$T/t1.json"'
check "10 adults, 10 adolescents, 10 children" 'python3 - "$T/t1.json" <<PY
import json, sys, collections
t = json.load(open(sys.argv[1]))["twins"]
c = collections.Counter(x["prior_group"] for x in t)
sys.exit(not (c == {"adult": 10, "adolescent": 10, "child": 10} and all(x["model"] == "uva_padova_t1d" for x in t)))
PY'
sleep 2
get "$U/api/twins" > "$T/t2.json"
# A reading is assimilated or refused (a sensor fault: a child's clipped
# lows look stuck), so it is the two together that grow with every step.
check "readings (assimilated or refused) grow between two polls" 'python3 - "$T/t1.json" "$T/t2.json" <<PY
import json, sys
a = {x["patient"]: x["readings"] + x["refused"] for x in json.load(open(sys.argv[1]))["twins"]}
b = {x["patient"]: x["readings"] + x["refused"] for x in json.load(open(sys.argv[2]))["twins"]}
sys.exit(not (set(a) == set(b) and all(b[p] > a[p] for p in a)))
PY'
P=$(python3 -c "import json; print(json.load(open('$T/t2.json'))['twins'][0]['patient'])")
check "a Patient named by its virtual id" 'get "$U/fhir/Patient/$P" > "$T/p.json" && python3 - "$T/p.json" <<PY
import json, sys, re
p = json.load(open(sys.argv[1]))
i = p["identifier"][0]
sys.exit(not (p["resourceType"] == "Patient" and i["system"] == "urn:medtwin:virtual-patient" and re.fullmatch(r"(adult|adolescent|child)#0\d\d", i["value"])))
PY'
check "the data are FHIR resources of the patient, up to now" 'get "$U/fhir/Observation?patient=$P&code=http://loinc.org|99504-3&_count=0" > "$T/obs.json" && python3 - "$T/obs.json" <<PY
import json, sys
sys.exit(not json.load(open(sys.argv[1]))["total"] > 36)
PY'

# Every twin has a forecast; alerts across the 30 (polled until 30 s after
# the twins appeared).
alerts() { python3 - "$U" "$1" <<'PY'
import json, os, sys, urllib.request
base = sys.argv[1]
get = lambda p: json.load(urllib.request.urlopen(urllib.request.Request(base + p, headers={"Cookie": os.environ["MT_COOKIE"]})))
t = get("/api/twins")["twins"]
n, fc = 0, 0
for x in t:
    g = get("/api/twins/" + x["patient"])
    n += len(g["alerts"])
    f = g.get("forecast") or []
    fc += len(f) == 3 and all(h["p025"] <= h["mean"] <= h["p975"] for h in f)
open(sys.argv[2], "w").write("%d %d\n" % (fc, n))
sys.exit(not (fc == 30 and n > 0))
PY
}
until alerts "$T/a.txt" || [ $((SECONDS - start)) -ge 30 ]; do sleep 1; done
check "every twin has a forecast (30, 60, 120 min)" '[ "$(cut -d" " -f1 "$T/a.txt")" = 30 ]'
check "alerts raised across the 30 within 30 s" '[ "$(cut -d" " -f2 "$T/a.txt")" -gt 0 ]'

t0=$(date +%s%N)
kill -TERM $PID
wait $PID
rc=$?
PID=
ms=$((($(date +%s%N) - t0) / 1000000))
check "SIGTERM: exit 0 in under 5 s (took $ms ms)" '[ $rc -eq 0 ] && [ $ms -lt 5000 ] && grep -q "stopped on SIGTERM" "$T/out.txt"'
check "nothing on stderr" '[ ! -s "$T/err.txt" ]'
[ -s "$T/err.txt" ] && cat "$T/err.txt"

echo "demo: $pass passed, $fail failed"
[ $fail -eq 0 ]
