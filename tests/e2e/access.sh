#!/usr/bin/env bash
# End-to-end: who may do what (docs/SECURITY.md). A table of role x route x
# expected status against a live server: default deny (401 without
# credentials), 403 for a route a role may not use, 404 (not 403) for a
# patient out of reach so that existence does not leak; searches count only
# what the caller reaches; a transaction touching another patient is undone
# whole; SMART scopes narrow a token; expired and revoked tokens are
# refused; device tokens write only for their bound patient; consent
# withdrawal takes effect on the next request, with its history kept;
# research sees only consenting patients; a patient reads who accessed the
# record; auditors export the trail as AuditEvent; the chain verifies.
set -u
BIN=$1
SRC=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/medtwin-access.XXXXXX") || exit 1
PID=
trap '[ -n "$PID" ] && kill -9 $PID 2>/dev/null; rm -rf "$T"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }
D="$T/data"
J="Content-Type: application/fhir+json"

# tokens: the text on stdout, the id in the note on stderr
tok() { # NAME ARGS...: $NAME holds the token, ${NAME}_ID its id
  local name=$1; shift
  local t
  t=$("$BIN" token create --data "$D" "$@" 2> "$T/note") || { echo "token $name: $(cat "$T/note")"; exit 1; }
  printf -v "$name" '%s' "$t"
  printf -v "${name}_ID" '%s' "$(sed -n 's/.*token \([0-9a-f]*\),.*/\1/p' "$T/note")"
}
tok ADMIN --role admin
"$BIN" serve --listen 127.0.0.1:0 --data "$D" > "$T/out.txt" 2> "$T/err.txt" &
PID=$!
for i in $(seq 50); do grep -q serving "$T/out.txt" && break; sleep 0.1; done
PORT=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\).*|\1|p' "$T/out.txt")
U="http://127.0.0.1:$PORT"
check "listening" '[ -n "$PORT" ]'

# req TOKEN METHOD PATH [BODY]: the status; the body in $T/body
req() {
  local auth=() data=()
  [ -n "$1" ] && auth=(-H "Authorization: Bearer $1")
  [ -n "${4:-}" ] && data=(-H "$J" --data-binary "$4")
  curl -s -o "$T/body" -w '%{http_code}' -X "$2" "${auth[@]}" "${data[@]}" "$U$3"
}
idof() { python3 -c "import json,sys; print(json.load(open('$T/body'))['id'])"; }
total() { python3 -c "import json,sys; print(json.load(open('$T/body'))['total'])"; }
echo 0 > "$T/n"
obs() { # PATIENT: an Observation of a new minute (the count in a file:
  local n  # it runs in subshells)
  n=$(( $(cat "$T/n") + 1 )); echo $n > "$T/n"
  printf '{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"2339-0"}]},"subject":{"reference":"Patient/%s"},"effectiveDateTime":"2026-11-20T%02d:%02d:00Z","valueQuantity":{"value":%d,"unit":"mg/dL","system":"http://unitsofmeasure.org","code":"mg/dL"}}' "$1" $((n / 60)) $((n % 60)) $((100 + n))
}

# ---- the world: patients A and B, an Observation of each, twins ----------
req "$ADMIN" POST /fhir/Patient '{"resourceType":"Patient","name":[{"family":"A"}]}' > /dev/null; A=$(idof)
req "$ADMIN" POST /fhir/Patient '{"resourceType":"Patient","name":[{"family":"B"}]}' > /dev/null; B=$(idof)
req "$ADMIN" POST /fhir/Observation "$(obs "$A")" > /dev/null; OA=$(idof)
req "$ADMIN" POST /fhir/Observation "$(obs "$B")" > /dev/null; OB=$(idof)
TW='{"model":"uva_padova_t1d","prior":"population","group":"adult"}'
check "admin sets up the twins" '[ "$(req "$ADMIN" PUT /api/twins/$A "$TW")" = 201 ] || [ "$(req "$ADMIN" PUT /api/twins/$A "$TW")" = 200 ]; [ "$(req "$ADMIN" PUT /api/twins/$B "$TW")" -lt 300 ]'

tok CLIN --role clinician
"$BIN" careteam add --data "$D" --token "$CLIN_ID" --patient "$A" > /dev/null
tok RES --role researcher
tok DEV --role device --patient "$A" --device cgm-a
tok PAT --role patient --patient "$A"
tok AUD --role auditor
tok SCOPED --role clinician --scope patient/Observation.rs
"$BIN" careteam add --data "$D" --token "$SCOPED_ID" --patient "$A" > /dev/null
tok SHORT --role admin --ttl 1s
tok GONE --role admin
"$BIN" token revoke --data "$D" --token "$GONE_ID" > /dev/null
check "research consent of A only (opt-in)" '[ "$(req "$ADMIN" PUT /api/patients/$A/consent/research "{\"status\":\"active\"}")" = 201 ]'

# ---- the matrix: role, method, path, body, expected status ---------------
# body: - none, @A / @B a new Observation of A / B, $NAME a variable's
PNEW='{"resourceType":"Patient"}'
DATA_B='{"cgm":[{"time":"2026-11-20T11:00:00Z","mg_dl":110}]}'
while IFS='|' read -r who method path body want; do
  [ -z "$who" ] && continue
  case $who in
    none) t= ;; *) t=${!who} ;;
  esac
  path=$(eval echo "$path")
  case $body in
    -) body= ;;
    @A) body=$(obs "$A") ;;
    @B) body=$(obs "$B") ;;
    @A:*) dev=${body#@A:}; body=$(obs "$A")
          body="${body%\}},\"device\":{\"reference\":\"Device/$dev\"}}" ;;
    \$*) v=${body#\$}; body=${!v} ;;
  esac
  got=$(req "$t" "$method" "$path" "$body")
  check "$who $method $path -> $want (got $got)" '[ "$got" = "$want" ]'
done <<'EOF'
none|GET|/health|-|200
none|GET|/fhir/metadata|-|200
none|GET|/fhir/Patient/$A|-|401
none|GET|/fhir/Observation|-|401
none|POST|/fhir/Observation|@A|401
none|GET|/api/twins|-|401
none|GET|/api/twins/$A/events|-|401
none|GET|/api/audit|-|401
ADMIN|GET|/fhir/Patient/$A|-|200
ADMIN|GET|/fhir/Patient/$B|-|200
ADMIN|GET|/api/twins/$B|-|200
ADMIN|GET|/api/audit|-|403
CLIN|GET|/fhir/Patient/$A|-|200
CLIN|GET|/fhir/Patient/$B|-|404
CLIN|GET|/fhir/Patient/no-such-patient|-|404
CLIN|GET|/fhir/Observation/$OA|-|200
CLIN|GET|/fhir/Observation/$OB|-|404
CLIN|GET|/fhir/Observation/$OB/_history|-|404
CLIN|GET|/fhir/Observation/$OB/_history/1|-|404
CLIN|POST|/fhir/Observation|@A|201
CLIN|POST|/fhir/Observation|@B|404
CLIN|DELETE|/fhir/Observation/$OB|-|404
CLIN|GET|/api/twins/$A|-|200
CLIN|GET|/api/twins/$B|-|404
CLIN|GET|/api/twins/$B/forecast|-|404
CLIN|GET|/api/patients/$B/consent|-|404
CLIN|GET|/api/patients/$A/audit|-|403
CLIN|GET|/api/audit|-|403
RES|GET|/fhir/Observation/$OA|-|200
RES|GET|/fhir/Observation/$OB|-|404
RES|POST|/fhir/Observation|@A|403
RES|DELETE|/fhir/Observation/$OA|-|403
RES|PUT|/api/twins/$A|$TW|403
RES|GET|/api/twins/$A|-|200
RES|GET|/api/twins/$B|-|404
DEV|POST|/fhir/Observation|@A|201
DEV|POST|/fhir/Observation|@B|404
DEV|POST|/fhir/Observation|@A:cgm-a|201
DEV|POST|/fhir/Observation|@A:cgm-b|403
DEV|GET|/fhir/Observation/$OA|-|403
DEV|POST|/fhir/Patient|$PNEW|403
DEV|GET|/api/twins/$A|-|403
DEV|POST|/api/twins/$B/data|$DATA_B|404
PAT|GET|/fhir/Patient/$A|-|200
PAT|GET|/fhir/Patient/$B|-|404
PAT|GET|/fhir/Observation/$OA|-|200
PAT|POST|/fhir/Observation|@A|403
PAT|GET|/api/twins/$A|-|200
PAT|GET|/api/patients/$B/audit|-|404
PAT|GET|/api/audit|-|403
AUD|GET|/api/audit|-|200
AUD|GET|/fhir/Patient/$A|-|403
AUD|GET|/api/twins|-|403
AUD|GET|/api/patients/$A/audit|-|200
SCOPED|GET|/fhir/Observation/$OA|-|200
SCOPED|GET|/fhir/Patient/$A|-|403
SCOPED|POST|/fhir/Observation|@A|403
GONE|GET|/fhir/Patient/$A|-|401
EOF

# ---- details the table cannot hold ---------------------------------------
# A has 4 Observations now: the admin's, the clinician's and the device's two
# (the one naming another Device was refused); B has 1.
req "$CLIN" GET /fhir/Patient/$B > /dev/null; cp "$T/body" "$T/b404"
req "$CLIN" GET /fhir/Patient/nobody-at-all > /dev/null
check "out of reach and absent say the same (no existence leak)" '[ "$(sed "s/$B//" "$T/b404")" = "$(sed "s/nobody-at-all//" "$T/body")" ]'
check "401 names the way in (WWW-Authenticate)" 'curl -s -D - -o /dev/null $U/fhir/Patient | grep -qi "^WWW-Authenticate: Bearer"'
sleep 1.2
check "an expired token is refused" '[ "$(req "$SHORT" GET /fhir/Patient/$A)" = 401 ] && grep -q "expired" "$T/body"'
check "a malformed Authorization is refused" '[ "$(curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Basic Zm9vOmJhcg==" $U/fhir/Patient)" = 401 ]'
check "searches count only the care team (clinician)" '[ "$(req "$CLIN" GET "/fhir/Observation?patient=$B")" = 200 ] && [ "$(total)" = 0 ] && [ "$(req "$CLIN" GET /fhir/Observation)" = 200 ] && [ "$(total)" = 4 ]'
check "searches count only consenting patients (researcher)" '[ "$(req "$RES" GET /fhir/Observation)" = 200 ] && [ "$(total)" = 4 ] && [ "$(req "$RES" GET /fhir/Patient)" = 200 ] && [ "$(total)" = 1 ]'
check "a patient searches only its own record" '[ "$(req "$PAT" GET /fhir/Observation)" = 200 ] && [ "$(total)" = 4 ] && [ "$(req "$PAT" GET /fhir/Patient)" = 200 ] && [ "$(total)" = 1 ]'
check "the twins listed are the care team's" '[ "$(req "$CLIN" GET /api/twins)" = 200 ] && grep -q "$A" "$T/body" && ! grep -q "$B" "$T/body"'
TX=$(printf '{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"POST","url":"Observation"},"resource":%s},{"request":{"method":"POST","url":"Observation"},"resource":%s}]}' "$(obs "$A")" "$(obs "$B")")
req "$ADMIN" GET "/fhir/Observation?patient=$A" > /dev/null; before=$(total)
check "a transaction touching another patient is undone whole" '[ "$(req "$CLIN" POST /fhir "$TX")" = 404 ] && [ "$(req "$ADMIN" GET "/fhir/Observation?patient=$A")" = 200 ] && [ "$(total)" = "$before" ]'
TX3=$(printf '{"resourceType":"Bundle","type":"transaction","entry":[%s,%s,%s]}' "$(printf '{"request":{"method":"POST","url":"Observation"},"resource":%s}' "$(obs "$B")")" "$(printf '{"request":{"method":"POST","url":"Observation"},"resource":%s}' "$(obs "$B")")" "$(printf '{"request":{"method":"POST","url":"Observation"},"resource":%s}' "$(obs "$B")")")
check "a transaction's three readings of B: one audit record saying so" '[ "$(req "$ADMIN" POST /fhir "$TX3")" = 200 ] && [ "$(req "$AUD" GET "/api/audit?patient=$B&_count=1000")" = 200 ] && [ "$(grep -o "Patient/$B/Observation?count=3" "$T/body" | wc -l)" = 1 ]'
check "a clinician who registers a patient sees it" '[ "$(req "$CLIN" POST /fhir/Patient "{\"resourceType\":\"Patient\"}")" = 201 ] && C=$(idof) && [ "$(req "$CLIN" GET /fhir/Patient/$C)" = 200 ]'

# ---- consent: withdrawal takes effect on the next request ----------------
check "clinician reads A" '[ "$(req "$CLIN" GET /fhir/Patient/$A)" = 200 ]'
curl -s -N --max-time 30 -H "Authorization: Bearer $CLIN" -o "$T/sse" "$U/api/twins/$A/events" &
SSE=$!
sleep 1
check "A withdraws consent to treatment (one call)" '[ "$(req "$PAT" DELETE /api/patients/$A/consent/treatment)" = 201 ] && grep -q "\"status\":\"inactive\"" "$T/body"'
check "the next request is refused" '[ "$(req "$CLIN" GET /fhir/Patient/$A)" = 404 ] && [ "$(req "$CLIN" GET /api/twins/$A)" = 404 ]'
for i in $(seq 80); do kill -0 $SSE 2>/dev/null || break; sleep 0.1; done
check "the clinician's open event stream of A ends within 8 s" '! kill -0 $SSE 2>/dev/null && wait $SSE && grep -q "medtwin events" "$T/sse"'
kill $SSE 2>/dev/null
check "A consents again" '[ "$(req "$PAT" PUT /api/patients/$A/consent/treatment "{\"status\":\"active\"}")" = 200 ] && [ "$(req "$CLIN" GET /fhir/Patient/$A)" = 200 ]'
check "the consent states it, as FHIR" '[ "$(req "$PAT" GET /api/patients/$A/consent)" = 200 ] && python3 -c "
import json,sys
c={x[\"purpose\"]:x for x in json.load(open(\"$T/body\"))[\"consents\"]}
sys.exit(not (c[\"treatment\"][\"status\"]==\"active\" and c[\"research\"][\"status\"]==\"active\" and c[\"device-ingest\"][\"status\"]==\"active\" and not c[\"device-ingest\"][\"recorded\"]))"'
CID=$(req "$ADMIN" GET "/fhir/Consent?patient=$A" > /dev/null; python3 -c "
import json
b=json.load(open('$T/body'))
print([e['resource']['id'] for e in b['entry'] if 'treatment' in e['resource']['id']][0])")
check "its history is kept (FHIR _history: inactive, then active)" '[ "$(req "$ADMIN" GET /fhir/Consent/$CID/_history)" = 200 ] && [ "$(total)" = 2 ]'
check "research withdrawn: the researcher no longer sees A" '[ "$(req "$PAT" DELETE /api/patients/$A/consent/research)" = 200 ] && [ "$(req "$RES" GET /fhir/Observation/$OA)" = 404 ] && [ "$(req "$RES" GET /fhir/Observation)" = 200 ] && [ "$(total)" = 0 ]'
check "device ingest withdrawn: the device is refused" '[ "$(req "$PAT" DELETE /api/patients/$A/consent/device-ingest)" = 201 ] && [ "$(req "$DEV" POST /fhir/Observation "$(obs "$A")")" = 403 ] && grep -q "consent" "$T/body"'
check "a researcher cannot change consent" '[ "$(req "$RES" PUT /api/patients/$A/consent/research "{\"status\":\"active\"}")" = 403 ]'
check "unknown purpose 404" '[ "$(req "$PAT" PUT /api/patients/$A/consent/marketing "{\"status\":\"active\"}")" = 404 ]'

# ---- the patient's access log and the auditors' export -------------------
check "A reads who accessed the record (GDPR Art. 15)" '[ "$(req "$PAT" GET /api/patients/$A/audit?_count=1000)" = 200 ] && python3 -c "
import json,sys
b=json.load(open(\"$T/body\"))
ev=[e[\"resource\"] for e in b[\"entry\"]]
ok = all(e[\"resourceType\"]==\"AuditEvent\" for e in ev)
who={a[\"who\"][\"identifier\"][\"value\"] for e in ev for a in e[\"agent\"]}
ok = ok and \"token:$CLIN_ID\" in who and \"token:$RES_ID\" in who
# only records about A
ok = ok and all(e[\"entity\"][0][\"what\"][\"reference\"]==\"Patient/$A\" for e in ev)
# the denied attempt on B is not in A log, the refused device write is
ok = ok and any(e[\"outcomeDesc\"]==\"HTTP 403\" and \"token:$DEV_ID\" in str(e[\"agent\"]) and \"Observation\" in e[\"entity\"][0][\"description\"] for e in ev)
sys.exit(not ok)"'
check "the export carries no names" '[ "$(req "$AUD" GET "/api/audit?_count=1000")" = 200 ] && ! grep -q "\"family\"" "$T/body" && grep -q "login-failed" "$T/body"'
check "the export pages" '[ "$(req "$AUD" GET "/api/audit?_count=2")" = 200 ] && grep -q "\"relation\":\"next\"" "$T/body"'

# bad tokens from one address: throttled after 20, a valid token never
for i in $(seq 21); do req "mt_bad$i" GET /fhir/Patient > /dev/null; done
check "the 21st bad token in 15 min: 429" '[ "$(req mt_bad22 GET /fhir/Patient)" = 429 ]'
check "a valid token from that address still works" '[ "$(req "$ADMIN" GET /fhir/Patient)" = 200 ]'

kill -TERM $PID; wait $PID; PID=
check "the audit chain verifies" '"$BIN" audit verify --data "$D" > "$T/verify" 2>&1'
echo "access: $pass passed, $fail failed"
[ $fail -eq 0 ]
