#!/usr/bin/env bash
# End-to-end durability: `medtwin serve` killed with SIGKILL in the middle of
# a sustained ingest (single CGM POSTs fed to a twin, transaction Bundles,
# Nightscout entries, from several connections at once) loses nothing it
# acknowledged with a 2xx, stores nothing twice, and leaves a database that
# passes PRAGMA integrity_check; on restart the twin is restored (its latest
# snapshot plus the readings stored after it) to the state `medtwin twin run`
# reaches on the same readings: the forecasts agree to the 1e-4 mg/dL that
# twin run prints. Then the same after a graceful stop. Every request carries
# an admin bearer token made with `medtwin token create` before the first
# start; it is in the store, so it stays valid across the kill and restarts.
set -u
BIN=$1
SRC=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/medtwin-dura.XXXXXX") || exit 1
PID=
trap '[ -n "$PID" ] && kill -9 $PID 2>/dev/null; rm -rf "$T"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }
# this suite reads the store's rows directly, so its store is not
# encrypted at rest (tests/e2e/erase.sh covers an encrypted one)
unset MEDTWIN_MASTER_KEY MEDTWIN_MASTER_KEY_FILE

start() {
  rm -f "$T/out.txt" # not the previous server's port
  "$BIN" serve --plaintext --listen 127.0.0.1:0 --data "$T/data" --snapshot-interval 0 > "$T/out.txt" 2> "$T/err.txt" &
  PID=$!
  for i in $(seq 100); do grep -q serving "$T/out.txt" && break; sleep 0.1; done
  U="http://127.0.0.1:$(sed -n 's|.*http://127.0.0.1:\([0-9]*\).*|\1|p' "$T/out.txt")"
}

"$BIN" twin replay --patient adult#003 --days 1 --seed 7 --members 8 --out "$T/day" > /dev/null
TOKEN=$("$BIN" token create --data "$T/data" --role admin 2> "$T/tok.txt")
check "an admin token from the CLI" '[[ "$TOKEN" =~ ^mt_[A-Za-z0-9_-]{43}$ ]]'
AUTH="Authorization: Bearer $TOKEN"
export MEDTWIN_TOKEN="$TOKEN"
start
check "serving" '[ -n "$PID" ] && grep -q serving "$T/out.txt"'

# The load: 4 writers for 60 s at most, killed after 3 s. Each records what
# the server acknowledged. Writer 0 sends the day's CGM readings of patient
# "k1", whose twin is set first, in time order; writer 1 transaction Bundles
# of 20 readings; writer 2 Nightscout entries of 5; writer 3 single readings
# of other patients.
cat > "$T/load.py" <<'PY'
import csv, datetime, http.client, json, os, sys, threading, time, urllib.parse
base, stream, out = sys.argv[1], sys.argv[2], sys.argv[3]
host = urllib.parse.urlparse(base)
T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
iso = lambda m: (T0 + datetime.timedelta(minutes=m)).strftime("%Y-%m-%dT%H:%M:%SZ")
def cgm(p, m, v):
    return {"resourceType": "Observation", "status": "final", "subject": {"reference": "Patient/" + p},
            "code": {"coding": [{"system": "http://loinc.org", "code": "99504-3"}]}, "effectiveDateTime": iso(m),
            "valueQuantity": {"value": v, "unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"}}
acked = [[] for _ in range(4)]
def conn(): return http.client.HTTPConnection(host.hostname, host.port, timeout=10)
def post(c, path, body):
    c.request("POST", path, json.dumps(body), {"Content-Type": "application/fhir+json", "Authorization": "Bearer " + os.environ["MEDTWIN_TOKEN"]})
    r = c.getresponse(); r.read(); return r.status
def writer(k):
    c = conn()
    try:
        if k == 0:
            rows = [r for r in csv.DictReader(open(stream)) if r["kind"] == "cgm"]
            for r in rows:
                m, v = float(r["t_min"]), float(r["value"])
                if post(c, "/fhir/Observation", cgm("k1", m, v)) in (200, 201): acked[k].append(("k1", iso(m)))
        elif k == 1:
            for b in range(100000):
                ms = [b * 20 + i for i in range(20)]
                bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
                    {"resource": cgm("k2", m, 100 + m % 50), "request": {"method": "POST", "url": "Observation"}} for m in ms]}
                if post(c, "/fhir", bundle) == 200: acked[k] += [("k2", iso(m)) for m in ms]
        elif k == 2:
            for b in range(100000):
                ms = [b * 5 + i for i in range(5)]
                ents = [{"type": "sgv", "sgv": 90 + m % 40, "date": int((T0 + datetime.timedelta(minutes=m)).timestamp() * 1000)} for m in ms]
                if post(c, "/api/v1/entries?patient=k3", ents) == 200: acked[k] += [("k3", iso(m)) for m in ms]
        else:
            for m in range(100000):
                p = "k4-%d" % (m % 7)
                if post(c, "/fhir/Observation", cgm(p, m, 120.5)) in (200, 201): acked[k].append((p, iso(m)))
    except Exception:
        pass  # the server was killed: what was acknowledged is recorded
ths = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
for t in ths: t.start()
for t in ths: t.join(60)
json.dump([a for w in acked for a in w], open(out, "w"))
print(" ".join(str(len(a)) for a in acked))
PY
code() { curl -s -o "$T/body" -w '%{http_code}' -H "$AUTH" "$@"; }
J="Content-Type: application/json"
check "twin of k1 set" '[ "$(code -X PUT -H "$J" -d "{\"model\":\"uva_padova_t1d\",\"group\":\"adult\"}" $U/api/twins/k1)" = 201 ]'
python3 "$T/load.py" "$U" "$T/day/stream.csv" "$T/acked.json" > "$T/counts.txt" &
LOAD=$!
sleep 3
kill -9 $PID
wait $PID 2>/dev/null
PID=
wait $LOAD
check "the load was acknowledged in part before the kill: $(cat "$T/counts.txt")" '[ "$(python3 -c "import json; print(len(json.load(open(\"$T/acked.json\"))) > 100)")" = True ]'
check "integrity_check ok after SIGKILL" '[ "$(python3 -c "import sqlite3; print(sqlite3.connect(\"$T/data/medtwin.db\").execute(\"pragma integrity_check\").fetchone()[0])")" = ok ]'

# What is stored: every acknowledged reading, once, as an observation row and
# as one Observation resource.
cat > "$T/stored.py" <<'PY'
import collections, datetime, json, sqlite3, sys
db, acked = sys.argv[1], json.load(open(sys.argv[2]))
c = sqlite3.connect(db)
rows = collections.Counter((p, t) for p, t in c.execute("select patient, t_ms from observation where code = '99504-3'"))
res = collections.Counter()
for (text,) in c.execute("select r.json from resource r where r.type = 'Observation' and r.version_id = "
                         "(select max(version_id) from resource x where x.type = r.type and x.id = r.id)"):
    if text is None: continue  # a deletion
    o = json.loads(text)
    t = datetime.datetime.fromisoformat(o["effectiveDateTime"].replace("Z", "+00:00"))
    res[(o["subject"]["reference"][8:], int(t.timestamp() * 1000))] += 1
ms = lambda s: int(datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1000)
lost = [a for a in acked if rows[(a[0], ms(a[1]))] != 1 or res[(a[0], ms(a[1]))] != 1]
dup = [k for k, n in res.items() if n > 1] + [k for k, n in rows.items() if n > 1]
print(len(acked), len(lost), len(dup), len(rows), sum(res.values()))
sys.exit(1 if lost or dup or len(acked) == 0 else 0)
PY
check "nothing acknowledged lost, nothing duplicated" 'python3 "$T/stored.py" "$T/data/medtwin.db" "$T/acked.json" > "$T/stored.txt"'
cat "$T/stored.txt"

# The restored twin is the one twin run makes from k1's stored readings.
cat > "$T/same.py" <<'PY'
import csv, datetime, json, os, sqlite3, subprocess, sys, urllib.request
U, db, binp, tmp = sys.argv[1:5]
rows = sqlite3.connect(db).execute("select t_ms, value from observation where patient = 'k1' and code = '99504-3' order by t_ms").fetchall()
t0 = rows[0][0]
with open(tmp + "/k1.csv", "w") as f:
    f.write("t_min,kind,value\n")
    for t, v in rows: f.write("%.10g,cgm,%.17g\n" % ((t - t0) / 60000, v))
subprocess.run([binp, "twin", "run", "--stream", tmp + "/k1.csv", "--group", "adult", "--horizons", "30,60,120",
                "--out", tmp + "/k1_fc.csv"], check=True, stdout=subprocess.DEVNULL)
j = json.load(urllib.request.urlopen(urllib.request.Request(U + "/api/twins/k1", headers={"Authorization": "Bearer " + os.environ["MEDTWIN_TOKEN"]})))
assert j["readings"] == len(rows), (j["readings"], len(rows))
last = [r for r in csv.DictReader(open(tmp + "/k1_fc.csv")) if abs(float(r["t_min"]) - j["t_min"]) < 1e-9]
assert len(last) == 3, (j["t_min"], len(last))
for f, r in zip(j["forecast"], last):
    for k in ("mean", "p025", "p50", "p975"):
        assert abs(f[k] - float(r[k])) <= 1e-4, (k, f[k], r[k])
print(len(rows), "readings")
PY
start
check "restarted after SIGKILL" 'grep -q serving "$T/out.txt"'
check "the token still valid after SIGKILL; no credentials still 401" '[ "$(code $U/api/twins/k1)" = 200 ] && [ "$(curl -s -o /dev/null -w "%{http_code}" $U/api/twins/k1)" = 401 ]'
check "the twin restored after SIGKILL is twin run's on the stored readings" 'python3 "$T/same.py" "$U" "$T/data/medtwin.db" "$BIN" "$T"'
check "snapshots with a twin image were written before the kill (the restore starts from the latest)" '[ "$(python3 -c "import sqlite3; print(sqlite3.connect(\"$T/data/medtwin.db\").execute(\"select count(*) from snapshot where patient = \x27k1\x27 and length(blob) > 1000\").fetchone()[0] > 0)")" = True ]'
kill -TERM $PID
wait $PID
rc=$?
PID=
check "graceful stop exits 0" '[ $rc -eq 0 ]'
start
check "and again after a graceful stop" 'python3 "$T/same.py" "$U" "$T/data/medtwin.db" "$BIN" "$T"'
kill -TERM $PID; wait $PID; PID=

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
