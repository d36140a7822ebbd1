#!/usr/bin/env bash
# End-to-end: dashboard sessions (docs/SECURITY.md). Login sets a cookie
# that is HttpOnly, SameSite=Strict and Path=/ (Secure under TLS); a write
# by cookie needs the session's CSRF token; a session ends after its idle
# time (automatic logoff, HIPAA 164.312(a)(2)(iii)) and at logout; wrong
# passwords are refused alike for known and unknown users, rate-limited
# after 5 failures (429, Retry-After) and recorded in the audit trail,
# which carries no user names.
set -u
BIN=$1
SRC=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/medtwin-session.XXXXXX") || exit 1
PID=
trap '[ -n "$PID" ] && kill -9 $PID 2>/dev/null; rm -rf "$T"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }
D="$T/data"
J="Content-Type: application/json"

check "a short password is refused (exit 2)" 'echo short | "$BIN" user add --data "$D" --name x --role clinician 2> "$T/e"; [ $? = 2 ] && grep -q "8-1024 characters" "$T/e"'
echo 'correct-horse-1' | "$BIN" user add --data "$D" --name nurse --role clinician > "$T/user.txt"
NURSE_ID=$(sed -n 's/.*id \([0-9a-f]*\)$/\1/p' "$T/user.txt")
check "a user is added (pseudonymous id)" '[ ${#NURSE_ID} = 16 ]'
check "a second user of that name exit 2" 'echo another-pass-1 | "$BIN" user add --data "$D" --name nurse --role admin > /dev/null 2>&1; [ $? = 2 ]'
AUD=$("$BIN" token create --data "$D" --role auditor 2> /dev/null)

start() { # ARGS: serve with them; U the base URL
  "$BIN" serve --listen 127.0.0.1:0 --data "$D" "$@" > "$T/out.txt" 2> "$T/err.txt" &
  PID=$!
  for i in $(seq 50); do grep -q serving "$T/out.txt" && break; sleep 0.1; done
  PORT=$(sed -n 's|.*://127.0.0.1:\([0-9]*\).*|\1|p' "$T/out.txt")
  U="$(sed -n 's|.* \(https*\)://127.*|\1|p' "$T/out.txt")://127.0.0.1:$PORT"
}
stop() { kill -TERM $PID; wait $PID; PID=; }
login() { # USER PASSWORD [CURL ARGS]: the status; headers in $T/h, body $T/body
  local u=$1 p=$2; shift 2
  curl -s "$@" -c "$T/jar" -D "$T/h" -o "$T/body" -w '%{http_code}' -H "$J" \
    --data-binary "{\"user\":\"$u\",\"password\":\"$p\"}" "$U/api/login"
}
csrf() { python3 -c "import json; print(json.load(open('$T/body'))['csrf'])"; }

start --session-idle 3
check "without a session: 401" '[ "$(curl -s -o /dev/null -w "%{http_code}" $U/api/me)" = 401 ]'
check "login 200" '[ "$(login nurse correct-horse-1)" = 200 ] && grep -q "\"role\":\"clinician\"" "$T/body"'
CSRF=$(csrf)
check "the cookie is HttpOnly, SameSite=Strict, Path=/, not Secure over HTTP" 'grep -i "^Set-Cookie: mt_session=" "$T/h" > "$T/c" && grep -q "HttpOnly" "$T/c" && grep -q "SameSite=Strict" "$T/c" && grep -q "Path=/" "$T/c" && ! grep -q "Secure" "$T/c"'
check "the cookie value is not the CSRF token" '! grep -q "$CSRF" "$T/c"'
check "the session reads (GET needs no CSRF)" '[ "$(curl -s -b "$T/jar" -o "$T/body" -w "%{http_code}" $U/api/me)" = 200 ] && grep -q "\"csrf\":\"$CSRF\"" "$T/body"'
P='{"resourceType":"Patient"}'
check "a write without the CSRF token: 403" '[ "$(curl -s -b "$T/jar" -o "$T/body" -w "%{http_code}" -H "Content-Type: application/fhir+json" --data-binary "$P" $U/fhir/Patient)" = 403 ] && grep -q "CSRF" "$T/body"'
check "a write with a wrong CSRF token: 403" '[ "$(curl -s -b "$T/jar" -o /dev/null -w "%{http_code}" -H "X-CSRF-Token: ${CSRF}x" -H "Content-Type: application/fhir+json" --data-binary "$P" $U/fhir/Patient)" = 403 ]'
check "a write with it: 201" '[ "$(curl -s -b "$T/jar" -o /dev/null -w "%{http_code}" -H "X-CSRF-Token: $CSRF" -H "Content-Type: application/fhir+json" --data-binary "$P" $U/fhir/Patient)" = 201 ]'
check "a forged cookie: 401" '[ "$(curl -s -o /dev/null -w "%{http_code}" -b "mt_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" $U/api/me)" = 401 ]'
sleep 1.5
check "used within its idle time, it lives on" '[ "$(curl -s -b "$T/jar" -o /dev/null -w "%{http_code}" $U/api/me)" = 200 ]'
sleep 3.5
check "idle longer than --session-idle: signed out (401)" '[ "$(curl -s -b "$T/jar" -o /dev/null -w "%{http_code}" $U/api/me)" = 401 ]'
login nurse correct-horse-1 > /dev/null; CSRF=$(csrf)
check "logout needs CSRF too" '[ "$(curl -s -b "$T/jar" -o /dev/null -w "%{http_code}" -X POST $U/api/logout)" = 403 ]'
check "logout 200, the cookie cleared" '[ "$(curl -s -b "$T/jar" -D "$T/h" -o /dev/null -w "%{http_code}" -X POST -H "X-CSRF-Token: $CSRF" $U/api/logout)" = 200 ] && grep -qi "^Set-Cookie: mt_session=;.*Max-Age=0" "$T/h"'
check "after logout the old cookie is dead" '[ "$(curl -s -b "$T/jar" -o /dev/null -w "%{http_code}" $U/api/me)" = 401 ]'

# wrong passwords: the same answer for a known and an unknown user
check "wrong password 401" '[ "$(login nurse wrong-password-1)" = 401 ]'
cp "$T/body" "$T/known"
check "unknown user 401, the same message" '[ "$(login nobody wrong-password-1)" = 401 ] && cmp -s "$T/body" "$T/known"'
for i in 2 3 4 5; do login nurse "wrong-password-$i" > /dev/null; done
check "the 6th try in 15 min: 429 with Retry-After" '[ "$(login nurse correct-horse-1)" = 429 ] && grep -qi "^Retry-After: [1-9]" "$T/h"'
check "another account is not locked by it" '[ "$(login nobody-else wrong-password-1)" = 401 ]'
check "bad requests: 400 naming the fields" '[ "$(curl -s -o "$T/body" -w "%{http_code}" -H "$J" --data-binary "{\"user\":\"nurse\"}" $U/api/login)" = 400 ] && grep -q password "$T/body"'
check "failed logins are audited, without names or passwords" '[ "$(curl -s -o "$T/body" -w "%{http_code}" -H "Authorization: Bearer $AUD" "$U/api/audit?_count=1000")" = 200 ] && python3 -c "
import json,sys
ev=[e[\"resource\"] for e in json.load(open(\"$T/body\"))[\"entry\"]]
fails=[e for e in ev if e[\"subtype\"][0][\"code\"]==\"login-failed\"]
ok = len(fails) >= 6 and any(e[\"outcomeDesc\"]==\"HTTP 429\" for e in fails)
ok = ok and any(a[\"who\"][\"identifier\"][\"value\"]==\"user:$NURSE_ID\" for e in fails for a in e[\"agent\"])
ok = ok and any(e[\"subtype\"][0][\"code\"]==\"login\" for e in ev)
sys.exit(not ok)" && ! grep -q "nurse\|wrong-password\|correct-horse" "$T/body"'
stop

# under TLS the cookie is Secure too
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$T/key.pem" -out "$T/cert.pem" > /dev/null 2>&1
chmod 600 "$T/key.pem"
start --tls-cert "$T/cert.pem" --tls-key "$T/key.pem"
check "TLS: login sets a Secure cookie" '[ "$(login nurse correct-horse-1 --cacert "$T/cert.pem")" = 200 ] && grep -i "^Set-Cookie: mt_session=" "$T/h" | grep -q "; Secure"'
stop
check "the audit chain verifies" '"$BIN" audit verify --data "$D" > /dev/null 2>&1'
echo "session: $pass passed, $fail failed"
[ $fail -eq 0 ]
