#!/usr/bin/env bash
# End-to-end: `medtwin serve` on a free loopback port answers health,
# readiness and the FHIR CapabilityStatement; unknown routes and methods get
# OperationOutcomes with 404 and 405; SIGTERM stops it cleanly (exit 0);
# bad options exit 2.
set -u
BIN=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/medtwin-serve.XXXXXX") || exit 1
PID=
trap '[ -n "$PID" ] && kill -9 $PID 2>/dev/null; rm -rf "$T"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }

"$BIN" serve --listen 127.0.0.1:0 --data "$T/data" > "$T/out.txt" 2> "$T/err.txt" &
PID=$!
for i in $(seq 50); do grep -q serving "$T/out.txt" && break; sleep 0.1; done
PORT=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\).*|\1|p' "$T/out.txt")
U="http://127.0.0.1:$PORT"
check "listening on a reported port" '[ -n "$PORT" ] && [ -d "$T/data" ]'
code() { curl -s -o "$T/body" -w '%{http_code}' "$@"; }
check "health 200" '[ "$(code $U/health)" = 200 ] && grep -q "\"status\":\"ok\"" "$T/body"'
check "ready 200" '[ "$(code $U/ready)" = 200 ]'
check "CapabilityStatement, FHIR 4.0.1, fhir+json" '[ "$(curl -s -o "$T/cap" -w "%{content_type}" $U/fhir/metadata)" = "application/fhir+json; charset=utf-8" ] && python3 -c "
import json,sys
c=json.load(open(\"$T/cap\"))
sys.exit(not (c[\"resourceType\"]==\"CapabilityStatement\" and c[\"fhirVersion\"]==\"4.0.1\" and c[\"kind\"]==\"instance\" and c[\"status\"]==\"active\"))"'
check "unknown route 404 OperationOutcome" '[ "$(code $U/fhir/Nothing/1)" = 404 ] && python3 -c "
import json,sys
o=json.load(open(\"$T/body\"))
sys.exit(not (o[\"resourceType\"]==\"OperationOutcome\" and o[\"issue\"][0][\"code\"]==\"not-found\" and \"/fhir/Nothing/1\" in o[\"issue\"][0][\"diagnostics\"]))"'
check "wrong method 405 OperationOutcome" '[ "$(code -X DELETE $U/health)" = 405 ] && grep -q OperationOutcome "$T/body"'
kill -TERM $PID
wait $PID
rc=$?
PID=
check "SIGTERM stops it, exit 0" '[ $rc -eq 0 ] && grep -q "stopped on SIGTERM" "$T/out.txt"'

"$BIN" serve --listen nowhere 2> "$T/e1.txt"
check "bad --listen exits 2" '[ $? -eq 2 ] && grep -q "HOST:PORT" "$T/e1.txt"'
"$BIN" serve --listen 999.1.1.1:80 2> "$T/e2.txt"
check "bad address exits 2" '[ $? -eq 2 ] && grep -q "IPv4" "$T/e2.txt"'

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
