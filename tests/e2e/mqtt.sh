#!/usr/bin/env bash
# End-to-end: device streams over MQTT (docs/API.md, "MQTT"). A mosquitto
# broker on a free loopback port; `medtwin serve --mqtt` takes readings
# and insulin published to medtwin/v1/{device}/{stream} for a FHIR Device
# whose `patient` names the patient: they are stored as FHIR resources (a
# duplicate once) and assimilated by the patient's twin; a falling series
# raises a hypo alert that is published to medtwin/v1/alerts/{patient}.
# Messages from an unknown device, with bad JSON or the wrong unit are not
# stored (one line each on stderr). Readings published while the server is
# stopped are delivered when it comes back (the broker keeps its session).
# `--mqtt nonsense` exits 2; a broker that refuses the connection or is
# not running exits 1.
set -u
BIN=$1
SRC=$2
for tool in /usr/sbin/mosquitto mosquitto_pub mosquitto_sub curl python3; do
  command -v "$tool" > /dev/null || { echo "mqtt.sh: $tool is missing (scripts/install-deps)"; exit 1; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/medtwin-mqtt.XXXXXX") || exit 1
PID= BROKER= SUB=
trap 'for p in $PID $SUB $BROKER; do kill -9 $p 2>/dev/null; done; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

MQ=$(free_port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$MQ" > "$T/mosquitto.conf"
/usr/sbin/mosquitto -c "$T/mosquitto.conf" > "$T/broker.txt" 2>&1 &
BROKER=$!
for i in $(seq 50); do (exec 3<> /dev/tcp/127.0.0.1/$MQ) 2> /dev/null && break; sleep 0.1; done

start() {
  "$BIN" serve --listen 127.0.0.1:0 --data "$T/data" --mqtt 127.0.0.1:$MQ > "$T/out.txt" 2>> "$T/err.txt" &
  PID=$!
  for i in $(seq 100); do grep -q serving "$T/out.txt" && break; sleep 0.1; done
  PORT=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\).*|\1|p' "$T/out.txt")
  U="http://127.0.0.1:$PORT"
}
stop() { kill -TERM $PID; wait $PID; local rc=$?; PID=; return $rc; }
start
check "serving with --mqtt" '[ -n "$PORT" ]'

mkdir -p "$T/fhir-out"
keep() { grep -q '"resourceType"' "$1" 2>/dev/null && cp "$1" "$(mktemp --suffix=.json -p "$T/fhir-out")"; return 0; }
J="Content-Type: application/fhir+json"
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1" 2>/dev/null; }
curl -s -o "$T/p.json" -X POST -H "$J" -d '{"resourceType":"Patient","birthDate":"2016-05-01"}' "$U/fhir/Patient"
P=$(field "$T/p.json" '["id"]')
curl -s -o "$T/d.json" -X POST -H "$J" -d "{\"resourceType\":\"Device\",\"status\":\"active\",\"type\":{\"text\":\"CGM\"},\"patient\":{\"reference\":\"Patient/$P\"}}" "$U/fhir/Device"
D=$(field "$T/d.json" '["id"]')
check "a Patient and a Device for them" '[ -n "$P" ] && [ -n "$D" ]'
code=$(curl -s -o "$T/tw.json" -w '%{http_code}' -X PUT -H "Content-Type: application/json" -d '{"model":"uva_padova_t1d","group":"child"}' "$U/api/twins/$P")
check "the patient's twin set" '[ "$code" = 201 ]'

# Alerts for the patient, listened to before anything is published.
mosquitto_sub -h 127.0.0.1 -p $MQ -q 1 -t "medtwin/v1/alerts/$P" -C 1 -W 25 > "$T/alerts.txt" 2>&1 &
SUB=$!
sleep 0.5

# Insulin at the start, then 16 CGM readings 5 min apart falling from 150
# to 58 mg/dL, one of them published twice, then carbohydrate.
pub() { mosquitto_pub -h 127.0.0.1 -p $MQ -q 1 -t "medtwin/v1/$1" "${@:2}"; }
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
pub "no-such-device/cgm" -m "{\"t\": $T0, \"value\": 99, \"unit\": \"mg/dL\"}"
pub "$D/cgm" -m '{"t": 1, "value": '
pub "$D/carbs" -m "{\"t\": $T0, \"value\": 15, \"unit\": \"mmol/L\"}"
pub "$D/cgm" -m "{\"t\": $T0, \"value\": -4, \"unit\": \"mg/dL\"}"

twin() { curl -s -o "$T/twin.json" "$U/api/twins/$P"; field "$T/twin.json" "$1"; }
for i in $(seq 100); do [ "$(twin '["readings"]')" = 16 ] && grep -q "value: physically" "$T/err.txt" && break; sleep 0.1; done
check "16 readings and 3 inputs assimilated" '[ "$(twin "[\"readings\"]")" = 16 ] && [ "$(twin "[\"inputs\"]")" = 3 ]'
count() { curl -s -o "$T/s.json" "$U/fhir/$1"; keep "$T/s.json"; field "$T/s.json" '["total"]'; }
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
wait $SUB
SUB=
check "a hypo alert published to medtwin/v1/alerts/{patient}" 'python3 -c "
import json,sys
a=json.load(open(\"$T/alerts.txt\"))
sys.exit(not (a[\"kind\"] in (\"hypo\",\"hypo_severe\") and 0 < a[\"probability\"] <= 1))"'
check "the alert also in the twin's alerts" 'twin "[\"alerts\"][0][\"kind\"]" | grep -q hypo'

# Stopped, a reading published meanwhile arrives once it is back.
check "SIGTERM: exit 0" 'stop'
pub "$D/cgm" -m "{\"t\": $(( T0 + 60000 + 16 * 300000 )), \"value\": 57, \"unit\": \"mg/dL\"}"
start
for i in $(seq 100); do [ "$(twin '["readings"]')" = 17 ] && break; sleep 0.1; done
check "a reading published while stopped is taken after the restart" '[ "$(twin "[\"readings\"]")" = 17 ]'
check "SIGTERM again: exit 0" 'stop'

"$BIN" serve --listen 127.0.0.1:0 --data "$T/data2" --mqtt nonsense > /dev/null 2> "$T/e1.txt"
check "--mqtt nonsense exits 2" '[ $? -eq 2 ] && grep -q "HOST:PORT" "$T/e1.txt"'
"$BIN" serve --listen 127.0.0.1:0 --data "$T/data2" --mqtt 127.0.0.1:0 > /dev/null 2> "$T/e1.txt"
check "--mqtt with port 0 exits 2" '[ $? -eq 2 ] && grep -q "HOST:PORT" "$T/e1.txt"'
kill $BROKER; wait $BROKER 2> /dev/null; BROKER=
MQ2=$(free_port)
printf 'listener %s 127.0.0.1\nallow_anonymous false\npersistence false\n' "$MQ2" > "$T/closed.conf"
/usr/sbin/mosquitto -c "$T/closed.conf" > "$T/broker2.txt" 2>&1 &
BROKER=$!
for i in $(seq 50); do (exec 3<> /dev/tcp/127.0.0.1/$MQ2) 2> /dev/null && break; sleep 0.1; done
"$BIN" serve --listen 127.0.0.1:0 --data "$T/data2" --mqtt 127.0.0.1:$MQ2 > "$T/o3.txt" 2> "$T/e3.txt"
check "a broker that refuses the connection exits 1, one message" '[ $? -eq 1 ] && grep -q "refused the connection" "$T/e3.txt" && [ $(wc -l < "$T/e3.txt") -eq 1 ] && ! grep -q serving "$T/o3.txt"'
kill $BROKER; wait $BROKER 2> /dev/null; BROKER=
"$BIN" serve --listen 127.0.0.1:0 --data "$T/data2" --mqtt 127.0.0.1:$MQ > "$T/o2.txt" 2> "$T/e2.txt"
check "a broker that is not running exits 1, one message" '[ $? -eq 1 ] && grep -q "cannot reach the MQTT broker" "$T/e2.txt" && [ $(wc -l < "$T/e2.txt") -eq 1 ] && ! grep -q serving "$T/o2.txt"'

check "every FHIR response validates ($(ls "$T/fhir-out" | wc -l) kept)" 'node "$SRC/tests/fhir/validate.mjs" "$T/fhir-out" > "$T/valid.txt" 2>&1 || { tail -20 "$T/valid.txt"; false; }'
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
