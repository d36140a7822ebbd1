#!/usr/bin/env bash
# End-to-end: device streams over MQTT (docs/API.md, "MQTT"). A mosquitto
# broker on a free loopback port with per-device credentials and an ACL (no
# anonymous clients; a device publishes only under its own id); `medtwin
# serve --mqtt` connects as a broker user of its own and takes readings and
# insulin published to medtwin/v1/{device}/{stream} for a FHIR Device whose
# `patient` names the patient, acting for the device's token: they are
# stored as FHIR resources (a duplicate once) and assimilated by the
# patient's twin; a falling series raises a hypo alert that is published to
# medtwin/v1/alerts/{patient}. Messages from an unknown device, with bad
# JSON or the wrong unit are not stored (one line each on stderr).
# Access: a device publishing under another's id is dropped by the broker;
# a device with no token, with its token revoked, or whose patient withdrew
# device-ingest consent is refused by the server; an anonymous client is
# refused by the broker; over HTTP a device token writes only for its own
# patient. Readings published while the server is stopped are delivered
# when it comes back (the broker keeps its session). `--mqtt nonsense` and
# a password file readable by others exit 2; a broker that refuses the
# connection or is not running exits 1.
set -u
BIN=$1
SRC=$2
for tool in /usr/sbin/mosquitto mosquitto_pub mosquitto_sub mosquitto_passwd curl python3; do
  command -v "$tool" > /dev/null || { echo "mqtt.sh: $tool is missing (scripts/install-deps)"; exit 1; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/medtwin-mqtt.XXXXXX") || exit 1
PID= BROKER= SUB=
trap 'for p in $PID $SUB $BROKER; do kill -9 $p 2>/dev/null; done; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Broker users (docs/API.md, "MQTT"): the server, a monitor that reads
# alerts and no-such-device (a broker user with no Device); the devices
# (named by their Device ids) once they exist.
MQ=$(free_port)
secret() { python3 -c 'import secrets; print(secrets.token_urlsafe(18))'; }
SRV_PW=$(secret) MON_PW=$(secret) DEV1_PW=$(secret) DEV2_PW=$(secret) DEV3_PW=$(secret) GHOST_PW=$(secret)
mosquitto_passwd -c -b "$T/passwd" medtwin "$SRV_PW"
mosquitto_passwd -b "$T/passwd" monitor "$MON_PW"
mosquitto_passwd -b "$T/passwd" no-such-device "$GHOST_PW"
printf '%s\n' \
  'user medtwin' 'topic read medtwin/v1/#' 'topic write medtwin/v1/alerts/#' '' \
  'user monitor' 'topic read medtwin/v1/alerts/#' '' \
  'pattern write medtwin/v1/%u/+' > "$T/acl"
# the broker keeps this user (as root it would switch to "mosquitto", which
# could not read them in $T), so the files stay private to it
chmod 600 "$T/passwd" "$T/acl"
(umask 077 && printf '%s\n' "$SRV_PW" > "$T/server-pw")
printf 'listener %s 127.0.0.1\nuser %s\nallow_anonymous false\npassword_file %s\nacl_file %s\npersistence false\n' \
  "$MQ" "$(id -un)" "$T/passwd" "$T/acl" > "$T/mosquitto.conf"
/usr/sbin/mosquitto -c "$T/mosquitto.conf" > "$T/broker.txt" 2>&1 &
BROKER=$!
for i in $(seq 50); do (exec 3<> /dev/tcp/127.0.0.1/$MQ) 2> /dev/null && break; sleep 0.1; done
check "the broker takes the password and ACL files without a warning" '! grep -i "warn\|error" "$T/broker.txt" | grep -qv "run as root"'

# An admin token for the HTTP API, made before the server starts.
ADMIN=$("$BIN" token create --data "$T/data" --role admin 2> /dev/null)
check "an admin token from the CLI" '[ -n "$ADMIN" ]'
AUTH="Authorization: Bearer $ADMIN"

start() {
  rm -f "$T/out.txt" # not the previous server's port
  "$BIN" serve --listen 127.0.0.1:0 --data "$T/data" --mqtt 127.0.0.1:$MQ \
    --mqtt-user medtwin --mqtt-password-file "$T/server-pw" > "$T/out.txt" 2>> "$T/err.txt" &
  PID=$!
  for i in $(seq 100); do grep -q serving "$T/out.txt" && break; sleep 0.1; done
  PORT=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\).*|\1|p' "$T/out.txt")
  U="http://127.0.0.1:$PORT"
}
stop() { kill -TERM $PID; wait $PID; local rc=$?; PID=; return $rc; }
start
check "serving with --mqtt and the server's broker user" '[ -n "$PORT" ]'

mkdir -p "$T/fhir-out"
keep() { grep -q '"resourceType"' "$1" 2>/dev/null && cp "$1" "$(mktemp --suffix=.json -p "$T/fhir-out")"; return 0; }
J="Content-Type: application/fhir+json"
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1" 2>/dev/null; }
api() { curl -s -H "$AUTH" "$@"; } # as the admin
api -o "$T/p.json" -X POST -H "$J" -d '{"resourceType":"Patient","birthDate":"2016-05-01"}' "$U/fhir/Patient"
P=$(field "$T/p.json" '["id"]')
api -o "$T/p.json" -X POST -H "$J" -d '{"resourceType":"Patient","birthDate":"2012-02-01"}' "$U/fhir/Patient"
B=$(field "$T/p.json" '["id"]')
device() { # PATIENT: a new Device naming Patient/PATIENT, its id
  api -o "$T/d.json" -X POST -H "$J" -d "{\"resourceType\":\"Device\",\"status\":\"active\",\"type\":{\"text\":\"CGM\"},\"patient\":{\"reference\":\"Patient/$1\"}}" "$U/fhir/Device"
  field "$T/d.json" '["id"]'
}
D1=$(device "$P") D2=$(device "$B") D3=$(device "$P")
D=$D1
check "patients A and B; Devices dev1 and dev3 of A, dev2 of B" '[ -n "$P" ] && [ -n "$B" ] && [ -n "$D1" ] && [ -n "$D2" ] && [ -n "$D3" ]'
# their broker users, the broker told to read the file again (SIGHUP)
mosquitto_passwd -b "$T/passwd" "$D1" "$DEV1_PW"
mosquitto_passwd -b "$T/passwd" "$D2" "$DEV2_PW"
mosquitto_passwd -b "$T/passwd" "$D3" "$DEV3_PW"
kill -HUP $BROKER
for i in $(seq 50); do mosquitto_pub -h 127.0.0.1 -p $MQ -u "$D3" -P "$DEV3_PW" -t probe -m x 2> /dev/null && break; sleep 0.1; done
# device tokens while the server runs (the CLI opens the store beside it)
DEV1=$("$BIN" token create --data "$T/data" --role device --patient "$P" --device "$D1" 2> "$T/tok1.txt")
DEV1_ID=$(sed -n 's/.*token \([0-9a-f]\{16\}\).*/\1/p' "$T/tok1.txt")
DEV2=$("$BIN" token create --data "$T/data" --role device --patient "$B" --device "$D2" 2> /dev/null)
check "device tokens: dev1 bound to A, dev2 bound to B" '[ -n "$DEV1" ] && [ -n "$DEV1_ID" ] && [ -n "$DEV2" ]'
code=$(api -o "$T/tw.json" -w '%{http_code}' -X PUT -H "Content-Type: application/json" -d '{"model":"uva_padova_t1d","group":"child"}' "$U/api/twins/$P")
check "the patient's twin set" '[ "$code" = 201 ]'

# Alerts for the patient, listened to before anything is published.
mosquitto_sub -h 127.0.0.1 -p $MQ -u monitor -P "$MON_PW" -q 1 -t "medtwin/v1/alerts/$P" -C 1 -W 25 > "$T/alerts.txt" 2>&1 &
SUB=$!
sleep 0.5

# Insulin at the start, then 16 CGM readings 5 min apart falling from 150
# to 58 mg/dL, one of them published twice, then carbohydrate.
pubas() { mosquitto_pub -h 127.0.0.1 -p $MQ -u "$1" -P "$2" -q 1 -t "medtwin/v1/$3" "${@:4}"; }
pub() { pubas "$D1" "$DEV1_PW" "$@"; }
T0=$(( $(date +%s) * 1000 - 16 * 300000 ))
pub "$D/basal" -m "{\"t\": $T0, \"value\": 0.50, \"unit\": \"[iU]/h\"}"
pub "$D/bolus" -m "{\"t\": $T0, \"value\": 1.5, \"unit\": \"[iU]\"}"
python3 -c "
for i, v in enumerate([150, 145, 138, 130, 121, 112, 103, 95, 88, 81, 75, 70, 66, 62, 60, 58]):
    print('{\"t\": %d, \"value\": %d, \"unit\": \"mg/dL\"}' % ($T0 + 60000 + i * 300000, v))
" > "$T/cgm.txt"
pub "$D/cgm" -l < "$T/cgm.txt"
pub "$D/cgm" -m "$(sed -n 5p "$T/cgm.txt")" # a duplicate
pub "$D/carbs" -m "{\"t\": $(( T0 + 16 * 300000 )), \"value\": 15, \"unit\": \"g\"}"
# Not stored: an unknown device, bad JSON, the wrong unit, an impossible value.
pubas no-such-device "$GHOST_PW" "no-such-device/cgm" -m "{\"t\": $T0, \"value\": 99, \"unit\": \"mg/dL\"}"
pub "$D/cgm" -m '{"t": 1, "value": '
pub "$D/carbs" -m "{\"t\": $T0, \"value\": 15, \"unit\": \"mmol/L\"}"
pub "$D/cgm" -m "{\"t\": $T0, \"value\": -4, \"unit\": \"mg/dL\"}"

twin() { api -o "$T/twin.json" "$U/api/twins/$P"; field "$T/twin.json" "$1"; }
for i in $(seq 100); do [ "$(twin '["readings"]')" = 16 ] && grep -q "value: physically" "$T/err.txt" && break; sleep 0.1; done
check "16 readings and 3 inputs assimilated" '[ "$(twin "[\"readings\"]")" = 16 ] && [ "$(twin "[\"inputs\"]")" = 3 ]'
count() { api -o "$T/s.json" "$U/fhir/$1"; keep "$T/s.json"; field "$T/s.json" '["total"]'; }
check "the duplicate stored once: 16 CGM Observations naming the Device" '[ "$(count "Observation?patient=$P&code=http://loinc.org|99504-3&_count=100")" = 16 ] && python3 -c "
import json,sys
b=json.load(open(\"$T/s.json\"))
sys.exit(not all(e[\"resource\"][\"device\"][\"reference\"]==\"Device/$D\" for e in b[\"entry\"]))"'
check "carbs an Observation, bolus and basal MedicationAdministrations" '[ "$(count "Observation?patient=$P&code=9059-7")" = 1 ] && [ "$(count "MedicationAdministration?patient=$P")" = 2 ]'
check "nothing else stored (the unknown device's reading neither)" '[ "$(count "Observation?_count=0")" = 17 ]'
check "refusals logged with topic and reason" 'grep -q "mqtt: medtwin/v1/no-such-device/cgm: not stored: unknown device" "$T/err.txt" &&
  grep -q "mqtt: medtwin/v1/$D/cgm: not stored: payload: malformed JSON" "$T/err.txt" &&
  grep -q "mqtt: medtwin/v1/$D/carbs: not stored: unit: expected \"g\"" "$T/err.txt" &&
  grep -q "mqtt: medtwin/v1/$D/cgm: not stored: Observation.valueQuantity: value: physically impossible" "$T/err.txt" &&
  [ $(grep -c "not stored" "$T/err.txt") -eq 4 ]'
check "the stored readings audited as dev1's token" 'api -o "$T/audit.json" "$U/api/patients/$P/audit?_count=1000" && grep -q "token:$DEV1_ID" "$T/audit.json"'
wait $SUB
SUB=
check "a hypo alert published to medtwin/v1/alerts/{patient}" 'python3 -c "
import json,sys
a=json.load(open(\"$T/alerts.txt\"))
sys.exit(not (a[\"kind\"] in (\"hypo\",\"hypo_severe\") and 0 < a[\"probability\"] <= 1))"'
check "the alert also in the twin's alerts" 'twin "[\"alerts\"][0][\"kind\"]" | grep -q hypo'

# A vital sign (docs/API.md, "MQTT"): a MAP reading stored as LOINC 8478-0 in
# mm[Hg] naming the Device; a heart rate in the wrong unit refused, naming
# the unit expected.
pub "$D/map" -m "{\"t\": $(( T0 + 60000 )), \"value\": 84, \"unit\": \"mm[Hg]\"}"
pub "$D/hr" -m "{\"t\": $(( T0 + 60000 )), \"value\": 72, \"unit\": \"mm[Hg]\"}"
for i in $(seq 100); do [ "$(count "Observation?patient=$P&code=http://loinc.org|8478-0")" = 1 ] && grep -q "medtwin/v1/$D/hr: not stored" "$T/err.txt" && break; sleep 0.1; done
check "a MAP reading over MQTT stored as 8478-0 in mm[Hg]; a heart rate in mm[Hg] refused" '[ "$(count "Observation?patient=$P&code=http://loinc.org|8478-0")" = 1 ] && python3 -c "
import json,sys
r=json.load(open(\"$T/s.json\"))[\"entry\"][0][\"resource\"]
sys.exit(not (r[\"device\"][\"reference\"]==\"Device/$D\" and r[\"valueQuantity\"][\"code\"]==\"mm[Hg]\"
              and r[\"category\"][0][\"coding\"][0][\"code\"]==\"vital-signs\"))" &&
  grep -q "mqtt: medtwin/v1/$D/hr: not stored: unit: expected \"/min\" for hr" "$T/err.txt"'

# ---- access ----------------------------------------------------------------
n_obs() { count "Observation?patient=$1&_count=0"; }
# the time of the N-th probe reading: after the series, before now
tp() { echo $(( T0 + 60000 + 15 * 300000 + $1 * 20000 )); }
iso() { date -u -d "@$(( $(tp $1) / 1000 ))" +%Y-%m-%dT%H:%M:%SZ; }
reading() { echo "{\"t\": $(tp $1), \"value\": $2, \"unit\": \"mg/dL\"}"; }
# wait until the server has logged N refusals for TOPIC; until PATIENT has
# N Observations
logged() { for i in $(seq 100); do [ $(grep -c "mqtt: medtwin/v1/$1: not stored" "$T/err.txt") -ge $2 ] && return 0; sleep 0.1; done; return 1; }
stored() { for i in $(seq 100); do [ "$(n_obs "$1")" = "$2" ] && return 0; sleep 0.1; done; return 1; }

A0=$(n_obs "$P")
B0=$(n_obs "$B")
# dev1 under dev2's topic: the broker drops it (MQTT 3.1.1 has no refusal
# to publish); dev1's next reading, on its own topic, comes after it.
pub "$D2/cgm" -m "$(reading 1 58)"
pub "$D1/cgm" -m "$(reading 2 58)"
check "dev1 on its own topic: stored for A" 'stored "$P" $((A0 + 1))'
check "dev1 on dev2's topic: dropped by the broker (never reaches the server, nothing for B)" '[ "$(n_obs "$B")" = "$B0" ] && ! grep -q "medtwin/v1/$D2/" "$T/err.txt"'
pubas "$D2" "$DEV2_PW" "$D2/cgm" -m "$(reading 3 58)"
check "dev2 on its own topic: stored for B" 'stored "$B" $((B0 + 1))'
B0=$((B0 + 1))

pubas "$D3" "$DEV3_PW" "$D3/cgm" -m "$(reading 4 58)"
check "a device with a broker user and a Device but no token: refused by the server" 'logged $D3/cgm 1 && grep -q "mqtt: medtwin/v1/$D3/cgm: not stored: no valid device token" "$T/err.txt" && [ "$(n_obs "$P")" = $((A0 + 1)) ]'
AUDITOR=$("$BIN" token create --data "$T/data" --role auditor 2> /dev/null)
check "the refusal audited (login-failed, Device/dev3)" 'curl -s -H "Authorization: Bearer $AUDITOR" "$U/api/audit?_count=1000" | python3 -c "
import json,sys
b=json.load(sys.stdin)
sys.exit(not any(e[\"resource\"][\"subtype\"][0][\"code\"]==\"login-failed\" and e[\"resource\"][\"entity\"][0][\"description\"]==\"Device/$D3\" for e in b[\"entry\"]))"'
# a token for dev3 bound to B while its Device names A: refused (as HTTP 404)
"$BIN" token create --data "$T/data" --role device --patient "$B" --device "$D3" > /dev/null 2>&1
pubas "$D3" "$DEV3_PW" "$D3/cgm" -m "$(reading 4 58)"
check "a device whose token is bound to another patient than its Device's: refused by the server" 'logged $D3/cgm 2 && grep -q "mqtt: medtwin/v1/$D3/cgm: not stored: .*no such patient $P (as HTTP 404)" "$T/err.txt" && [ "$(n_obs "$P")" = $((A0 + 1)) ] && [ "$(n_obs "$B")" = "$B0" ]'

mosquitto_pub -h 127.0.0.1 -p $MQ -q 1 -t "medtwin/v1/$D1/cgm" -m "$(reading 5 58)" > "$T/anon.txt" 2>&1
rc=$?
check "an anonymous client: refused by the broker" '[ $rc -ne 0 ] && grep -qi "not authori" "$T/anon.txt"'
mosquitto_pub -h 127.0.0.1 -p $MQ -u "$D1" -P wrong -q 1 -t "medtwin/v1/$D1/cgm" -m "$(reading 5 58)" > "$T/anon.txt" 2>&1
rc=$?
check "a wrong password: refused by the broker" '[ $rc -ne 0 ] && grep -qi "not authori" "$T/anon.txt"'

# over HTTP, dev1's token writes for A only
obs() { # PATIENT VALUE
  echo "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"99504-3\"}]},\"subject\":{\"reference\":\"Patient/$1\"},\"device\":{\"reference\":\"Device/$D1\"},\"effectiveDateTime\":\"$(iso $2)\",\"valueQuantity\":{\"value\":58,\"unit\":\"mg/dL\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"mg/dL\"}}"
}
code=$(curl -s -o "$T/o.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $DEV1" -H "$J" -d "$(obs "$B" 11)" "$U/fhir/Observation")
keep "$T/o.json"
check "HTTP: dev1's token posting an Observation for B: 404, nothing stored" '[ "$code" = 404 ] && [ "$(n_obs "$B")" = "$B0" ]'
code=$(curl -s -o "$T/o.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $DEV1" -H "$J" -d "$(obs "$P" 12)" "$U/fhir/Observation")
keep "$T/o.json"
check "HTTP: dev1's token posting an Observation for A: 201" '[ "$code" = 201 ] && [ "$(n_obs "$P")" = $((A0 + 2)) ]'
A0=$((A0 + 2))

# consent withdrawn: refused; given again: taken
code=$(api -o /dev/null -w '%{http_code}' -X DELETE "$U/api/patients/$P/consent/device-ingest")
check "DELETE consent device-ingest of A (admin)" '[ "$code" -ge 200 ] && [ "$code" -lt 300 ]'
pub "$D1/cgm" -m "$(reading 6 58)"
check "dev1 after A withdrew device-ingest consent: refused by the server" 'logged $D1/cgm 3 && grep -q "mqtt: medtwin/v1/$D1/cgm: not stored: .*consent" "$T/err.txt" && [ "$(n_obs "$P")" = "$A0" ]'
code=$(api -o /dev/null -w '%{http_code}' -X PUT -H "Content-Type: application/json" -d '{"status":"active"}' "$U/api/patients/$P/consent/device-ingest")
pub "$D1/cgm" -m "$(reading 7 58)"
check "dev1 once the consent is active again: stored" '[ "$code" -ge 200 ] && [ "$code" -lt 300 ] && stored "$P" $((A0 + 1))'
A0=$((A0 + 1))

# the token revoked: refused
"$BIN" token revoke --data "$T/data" --token "$DEV1_ID" > /dev/null 2>&1
check "medtwin token revoke dev1's token" '[ $? -eq 0 ]'
pub "$D1/cgm" -m "$(reading 8 58)"
check "dev1 after its token is revoked: refused by the server" 'logged $D1/cgm 4 && grep -q "mqtt: medtwin/v1/$D1/cgm: not stored: no valid device token" "$T/err.txt" && [ "$(n_obs "$P")" = "$A0" ]'
DEV1=$("$BIN" token create --data "$T/data" --role device --patient "$P" --device "$D1" 2> /dev/null)
check "a new token for dev1" '[ -n "$DEV1" ]'

# Stopped, a reading published meanwhile arrives once it is back.
R=$(twin '["readings"]')
check "SIGTERM: exit 0" 'stop'
pub "$D/cgm" -m "{\"t\": $(( T0 + 60000 + 16 * 300000 )), \"value\": 57, \"unit\": \"mg/dL\"}"
start
# (up to 30 s: the restart restores the twins first, slower under ASan)
for i in $(seq 300); do [ "$(twin '["readings"]')" = $((R + 1)) ] && break; sleep 0.1; done
check "a reading published while stopped is taken after the restart" '[ "$(twin "[\"readings\"]")" = $((R + 1)) ] || { echo "readings $R then $(twin "[\"readings\"]")"; false; }'
check "SIGTERM again: exit 0" 'stop'

"$BIN" serve --listen 127.0.0.1:0 --data "$T/data2" --mqtt nonsense > /dev/null 2> "$T/e1.txt"
check "--mqtt nonsense exits 2" '[ $? -eq 2 ] && grep -q "HOST:PORT" "$T/e1.txt"'
"$BIN" serve --listen 127.0.0.1:0 --data "$T/data2" --mqtt 127.0.0.1:0 > /dev/null 2> "$T/e1.txt"
check "--mqtt with port 0 exits 2" '[ $? -eq 2 ] && grep -q "HOST:PORT" "$T/e1.txt"'
cp "$T/server-pw" "$T/open-pw" && chmod 644 "$T/open-pw"
"$BIN" serve --listen 127.0.0.1:0 --data "$T/data2" --mqtt 127.0.0.1:$MQ --mqtt-user medtwin --mqtt-password-file "$T/open-pw" > /dev/null 2> "$T/e1.txt"
check "a password file readable by others exits 2, naming the option" '[ $? -eq 2 ] && grep -q "mqtt-password-file" "$T/e1.txt" && grep -q "readable by others" "$T/e1.txt"'
"$BIN" serve --listen 127.0.0.1:0 --data "$T/data2" --mqtt 127.0.0.1:$MQ --mqtt-password-file "$T/server-pw" > /dev/null 2> "$T/e1.txt"
check "--mqtt-password-file without --mqtt-user exits 2" '[ $? -eq 2 ] && grep -q "mqtt-user" "$T/e1.txt"'
(umask 077 && echo wrong-password > "$T/wrong-pw")
"$BIN" serve --listen 127.0.0.1:0 --data "$T/data2" --mqtt 127.0.0.1:$MQ --mqtt-user medtwin --mqtt-password-file "$T/wrong-pw" > "$T/o3.txt" 2> "$T/e3.txt"
check "a wrong broker password exits 1, one message" '[ $? -eq 1 ] && grep -q "refused the connection" "$T/e3.txt" && [ $(wc -l < "$T/e3.txt") -eq 1 ] && ! grep -q serving "$T/o3.txt"'
"$BIN" serve --listen 127.0.0.1:0 --data "$T/data2" --mqtt 127.0.0.1:$MQ > "$T/o3.txt" 2> "$T/e3.txt"
check "no broker user (anonymous) exits 1, one message" '[ $? -eq 1 ] && grep -q "refused the connection" "$T/e3.txt" && [ $(wc -l < "$T/e3.txt") -eq 1 ] && ! grep -q serving "$T/o3.txt"'
kill $BROKER; wait $BROKER 2> /dev/null; BROKER=
"$BIN" serve --listen 127.0.0.1:0 --data "$T/data2" --mqtt 127.0.0.1:$MQ > "$T/o2.txt" 2> "$T/e2.txt"
check "a broker that is not running exits 1, one message" '[ $? -eq 1 ] && grep -q "cannot reach the MQTT broker" "$T/e2.txt" && [ $(wc -l < "$T/e2.txt") -eq 1 ] && ! grep -q serving "$T/o2.txt"'

check "every FHIR response validates ($(ls "$T/fhir-out" | wc -l) kept)" 'node "$SRC/tests/fhir/validate.mjs" "$T/fhir-out" > "$T/valid.txt" 2>&1 || { tail -20 "$T/valid.txt"; false; }'
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
