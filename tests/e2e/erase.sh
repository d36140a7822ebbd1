#!/usr/bin/env bash
# End-to-end: encryption at rest and erasure (GDPR Art. 17, 32; HIPAA
# 164.312(a)(2)(iv)). A server with a master key keeps two patients; every
# byte of its data directory, of an online backup and of the key store is
# searched for the first patient's name, birth date, record number and a
# reading (as text and as an 8-byte double, either byte order): none is
# there, while the same search finds them all in the patient's own FHIR
# export. The patient is erased through the API (DELETE ?_purge=true, an
# admin only), the second one offline (medtwin patient erase, refused while
# a server runs); after that the backup taken before, restored beside the
# key store, still opens the kept patient but not the erased one, and the
# audit chain is intact. Finally the master key is rotated: the old one no
# longer opens the key store, the new one does.
set -u
BIN=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/medtwin-erase.XXXXXX") || exit 1
PID=
trap '[ -n "$PID" ] && kill -9 $PID 2>/dev/null; rm -rf "$T"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }
J="Content-Type: application/fhir+json"
unset MEDTWIN_MASTER_KEY MEDTWIN_KEY_STORE

"$BIN" keys master "$T/master.key" > /dev/null
check "keys master writes a key file, mode 600" '[ "$(stat -c %a "$T/master.key")" = 600 ] && grep -qE "^[0-9a-f]{64}$" "$T/master.key"'
"$BIN" keys master "$T/master.key" 2> "$T/e" > /dev/null
check "and refuses to overwrite one (exit 2)" '[ $? -eq 2 ]'
export MEDTWIN_MASTER_KEY_FILE="$T/master.key"
D="$T/data"
ADMIN=$("$BIN" token create --data "$D" --role admin 2> /dev/null)
CLIN=$("$BIN" token create --data "$D" --role clinician 2> /dev/null)
check "the store is encrypted, its keys beside it in data.keys" '"$BIN" keys status --data "$D" | grep -q "encrypted at rest" && [ -f "$T/data.keys/keys.db" ] && [ ! -e "$D/keys.db" ]'

serve() {
  rm -f "$T/out" # not the previous server's port
  "$BIN" serve --listen 127.0.0.1:0 --data "$1" "${@:2}" > "$T/out" 2> "$T/err" &
  PID=$!
  for i in $(seq 50); do grep -q serving "$T/out" && break; sleep 0.1; done
  U="http://127.0.0.1:$(sed -n 's|.*http://127.0.0.1:\([0-9]*\).*|\1|p' "$T/out")"
}
stop() { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; PID=; }
# req TOKEN METHOD PATH [BODY]: the status; the body in $T/body
req() {
  local data=()
  [ -n "${4:-}" ] && data=(-H "$J" --data-binary "$4")
  curl -s -o "$T/body" -w '%{http_code}' -X "$2" -H "Authorization: Bearer $1" "${data[@]}" "$U$3"
}
id_of() { python3 -c "import json; print(json.load(open('$T/body'))['id'])"; }

serve "$D"
req "$ADMIN" POST /fhir/Patient '{"resourceType":"Patient","name":[{"family":"Vandermeerschaert","given":["Quixotica"]}],"birthDate":"1951-03-29","identifier":[{"system":"urn:oid:2.16.840.1.113883.2.4.6.3","value":"MRN-5521977"}]}' > /dev/null
P=$(id_of)
req "$ADMIN" POST /fhir/Patient '{"resourceType":"Patient","name":[{"family":"Oakenshieldova"}],"birthDate":"1960-01-01"}' > /dev/null
Q=$(id_of)
obs() { printf '{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"2339-0"}]},"subject":{"reference":"Patient/%s"},"effectiveDateTime":"2026-11-20T08:%02d:00Z","valueQuantity":{"value":%s,"unit":"mg/dL","system":"http://unitsofmeasure.org","code":"mg/dL"}}' "$1" "$2" "$3"; }
for m in 0 5 10; do req "$ADMIN" POST /fhir/Observation "$(obs "$P" $m 187.625)" > /dev/null; done
req "$ADMIN" POST /fhir/Observation "$(obs "$Q" 0 99.5)" > /dev/null
check "two patients and their readings" '[ -n "$P" ] && [ -n "$Q" ] && [ "$(req "$ADMIN" GET "/fhir/Observation?patient=$P")" = 200 ] && grep -q "\"total\":3" "$T/body"'
check "found by record number (the blind index)" '[ "$(req "$ADMIN" GET "/fhir/Patient?identifier=urn:oid:2.16.840.1.113883.2.4.6.3|MRN-5521977")" = 200 ] && grep -q "\"total\":1" "$T/body" && grep -q "$P" "$T/body"'
mkdir -p "$T/backup"
"$BIN" backup --data "$D" --out "$T/backup/medtwin.db" > /dev/null 2>&1
check "an online backup while serving" '[ -s "$T/backup/medtwin.db" ]'
req "$ADMIN" GET "/fhir/Patient/$P/\$everything" > /dev/null; cp "$T/body" "$T/export.json"

# scan PATH...: the needles found in any byte of the files under PATH
scan() {
  python3 - "$@" <<'PY'
import os, struct, sys
needles = {"name": b"Vandermeerschaert", "given": b"Quixotica",
           "birth date": b"1951-03-29", "record number": b"MRN-5521977",
           "reading as text": b"187.625",
           "reading as double (LE)": struct.pack("<d", 187.625),
           "reading as double (BE)": struct.pack(">d", 187.625)}
found = set()
for top in sys.argv[1:]:
    paths = [top] if os.path.isfile(top) else [os.path.join(d, f) for d, _, fs in os.walk(top) for f in fs]
    for p in paths:
        data = open(p, "rb").read()
        found |= {k for k, v in needles.items() if v in data}
print(" ".join(sorted(found)))
PY
}
check "the search is not blind: the plaintext export holds every needle but the doubles" '[ "$(scan "$T/export.json")" = "birth date given name reading as text record number" ]'
check "before erasure: nothing of the patient in the data dir, the backup or the key store" '[ -z "$(scan "$D" "$T/backup" "$T/data.keys")" ]'

# ---- erasure through the API ------------------------------------------------
check "a clinician may not erase (403)" '[ "$(req "$CLIN" DELETE "/fhir/Patient/$P?_purge=true")" = 403 ]'
check "_purge must be true or false (400)" '[ "$(req "$ADMIN" DELETE "/fhir/Patient/$P?_purge=yes")" = 400 ]'
check "an admin erases the patient: key destroyed, 4 resource versions, 3 readings" '[ "$(req "$ADMIN" DELETE "/fhir/Patient/$P?_purge=true")" = 200 ] && grep -q "key destroyed; 4 resource versions, 3 observations" "$T/body" && grep -q "log truncated" "$T/body"'
check "afterwards the patient is gone (404), its readings too" '[ "$(req "$ADMIN" GET "/fhir/Patient/$P")" = 404 ] && [ "$(req "$ADMIN" GET "/fhir/Observation?patient=$P")" = 200 ] && grep -q "\"total\":0" "$T/body"'
check "erasing again: 404" '[ "$(req "$ADMIN" DELETE "/fhir/Patient/$P?_purge=true")" = 404 ]'
check "the other patient stays" '[ "$(req "$ADMIN" GET "/fhir/Patient/$Q")" = 200 ] && grep -q Oakenshieldova "$T/body"'
check "after erasure: nothing of the patient in the data dir, the backup or the key store" '[ -z "$(scan "$D" "$T/backup" "$T/data.keys")" ]'
"$BIN" patient erase "$Q" --data "$D" 2> "$T/e" > /dev/null
check "an offline erasure is refused while a server runs (exit 1)" '[ $? -eq 1 ] && grep -q "server is running" "$T/e"'
stop

# ---- the backup taken before, restored beside the key store -----------------
cp -r "$T/backup" "$T/restored"
serve "$T/restored" --key-store "$T/data.keys"
check "the restored backup opens the kept patient" '[ "$(req "$ADMIN" GET "/fhir/Patient/$Q")" = 200 ] && grep -q Oakenshieldova "$T/body"'
check "but not the erased one: its key is destroyed" '[ "$(req "$ADMIN" GET "/fhir/Patient/$P")" != 200 ] && ! grep -q Vandermeerschaert "$T/body"'
stop

# ---- offline erasure, the audit trail, rotation ----------------------------
"$BIN" patient erase "$Q" --data "$D" --json > "$T/erased.json"
check "medtwin patient erase: the key, the patient and its reading" '[ $? -eq 0 ] && python3 -c "
import json; e = json.load(open(\"$T/erased.json\"))
assert e[\"key_destroyed\"] and e[\"resources\"] == 2 and e[\"observations\"] == 1 and e[\"wal_truncated\"]"'
check "the audit chain is intact after both erasures" '"$BIN" audit verify --data "$D" > /dev/null'
"$BIN" keys master "$T/new.key" > /dev/null
"$BIN" keys rotate --key-store "$T/data.keys" --master-key-file "$T/master.key" --new-master-key-file "$T/new.key" > "$T/rot"
check "keys rotate rewraps every key" '[ $? -eq 0 ] && grep -q "keys rewrapped" "$T/rot"'
"$BIN" keys status --data "$D" > /dev/null 2> "$T/e"
check "the old master key no longer opens the key store (exit 2)" '[ $? -eq 2 ] && grep -q "not this key store" "$T/e"'
check "the new one does" 'MEDTWIN_MASTER_KEY_FILE="$T/new.key" "$BIN" keys status --data "$D" | grep -q "encrypted at rest"'
unset MEDTWIN_MASTER_KEY_FILE
"$BIN" token list --data "$D" > /dev/null 2> "$T/e"
check "an encrypted store without its master key is refused, saying why" '[ $? -ne 0 ] && grep -q "encrypted at rest" "$T/e"'

echo "erase: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
