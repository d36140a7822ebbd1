#!/usr/bin/env bash
# medtwin audit: keygen, append, checkpoint, verify; then each kind of
# tampering (python3's sqlite3) and a corrupted page (dd) must give exit 1
# naming the first bad record; a missing or bad --data exit 2.
# usage: audit.sh ABS_PATH_TO_medtwin SRCDIR
set -u
M=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# expect STATUS PATTERN cmd...: exit status and a line of its output
expect() {
  local want=$1 pat=$2
  shift 2
  "$@" >"$T/out" 2>&1
  local rc=$?
  [ "$rc" = "$want" ] || { cat "$T/out"; fail "$* gave $rc, not $want"; }
  grep -q -- "$pat" "$T/out" || { cat "$T/out"; fail "$*: no '$pat'"; }
}

sql() { python3 -c 'import sqlite3,sys
c = sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit(); c.close()' "$1/medtwin.db" "$2"; }

# fresh DIR with five records and a checkpoint at record 5
setup() {
  rm -rf "$T/$1" "$T/$1.key"
  mkdir "$T/$1"
  expect 0 "public key" "$M" audit keygen --data "$T/$1" --key "$T/$1.key"
  for i in 1 2 3 4 5; do
    expect 0 "record $i" "$M" audit append --data "$T/$1" --actor user:7f3a \
      --action read --resource "Patient/p$i" --purpose treatment \
      --outcome 200 --time "170000000000$i"
  done
  expect 0 "signed the head at record 5" "$M" audit checkpoint \
    --data "$T/$1" --key "$T/$1.key"
}

setup a
[ "$(stat -c %a "$T/a.key")" = 600 ] || fail "key file is not mode 0600"
expect 0 "intact: 5 records, 1 checkpoints, head 5" "$M" audit verify --data "$T/a"
# the key is never overwritten, never inside DIR, one per store
expect 2 "never overwritten" "$M" audit keygen --data "$T/a" --key "$T/a.key"
expect 2 "inside the data directory" "$M" audit keygen --data "$T/a" --key "$T/a/k"
expect 1 "has an audit key already" "$M" audit keygen --data "$T/a" --key "$T/other.key"
[ -e "$T/other.key" ] && fail "a refused keygen left its key file"
chmod 644 "$T/a.key"
expect 2 "readable by others" "$M" audit checkpoint --data "$T/a" --key "$T/a.key"
chmod 600 "$T/a.key"

# a field edited
setup b
sql "$T/b" "UPDATE audit SET resource = 'Patient/p9' WHERE seq = 3"
expect 1 "record 3: its hash does not match" "$M" audit verify --data "$T/b"
# a hash edited
setup c
sql "$T/c" "UPDATE audit SET hash = zeroblob(32) WHERE seq = 2"
expect 1 "record 2: its hash does not match" "$M" audit verify --data "$T/c"
# a middle record deleted
setup d
sql "$T/d" "DELETE FROM audit WHERE seq = 3"
expect 1 "record 4: follows record 2" "$M" audit verify --data "$T/d"
# two records swapped
setup e
sql "$T/e" "UPDATE audit SET seq = -2 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = -2"
expect 1 "record 2: its previous hash" "$M" audit verify --data "$T/e"
# the tail deleted after the checkpoint
setup f
sql "$T/f" "DELETE FROM audit WHERE seq >= 4"
expect 1 "record 4: missing.*truncated" "$M" audit verify --data "$T/f"
# a forged checkpoint
setup g
sql "$T/g" "UPDATE audit_checkpoint SET seq = 4"
expect 1 "checkpoint 1: its signature does not verify" "$M" audit verify --data "$T/g"
# a checkpoint is refused on a broken chain
expect 1 "the audit chain is broken" "$M" audit checkpoint --data "$T/b" --key "$T/b.key"

# a corrupted page in the middle of the file
setup h
pages=$(( $(stat -c %s "$T/h/medtwin.db") / 8192 ))
[ "$pages" -ge 4 ] || fail "only $pages pages"
head -c 8192 /dev/zero | tr '\0' '\377' |
  dd of="$T/h/medtwin.db" bs=8192 seek=$(( pages / 2 )) conv=notrunc status=none
"$M" audit verify --data "$T/h" >"$T/out" 2>&1
rc=$?
[ "$rc" = 1 ] || { cat "$T/out"; fail "corrupted page gave $rc"; }
grep -qiE "integrity|malformed|corrupt" "$T/out" || { cat "$T/out"; fail "corruption not named"; }

# the server signs checkpoints itself (serve --audit-key), at start, every
# --checkpoint-interval and at a stop; then a truncated tail is caught by
# the last one
rm -rf "$T/s" "$T/s.key"
mkdir "$T/s"
expect 0 "public key" "$M" audit keygen --data "$T/s" --key "$T/s.key"
tok=$("$M" token create --data "$T/s" --role admin 2>/dev/null) || fail "token"
"$M" serve --listen 127.0.0.1:0 --data "$T/s" --audit-key "$T/s.key" \
  --checkpoint-interval 1 >"$T/serve.out" 2>"$T/serve.err" &
spid=$!
for i in $(seq 50); do grep -q serving "$T/serve.out" && break; sleep 0.1; done
port=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\).*|\1|p' "$T/serve.out")
[ -n "$port" ] || { kill -9 $spid; cat "$T/serve.err"; fail "serve --audit-key did not start"; }
for i in 1 2 3; do
  curl -s -o /dev/null -H "Authorization: Bearer $tok" "http://127.0.0.1:$port/fhir/Patient"
done
sleep 2.5
kill -TERM $spid; wait $spid || fail "serve did not stop cleanly"
"$M" audit verify --data "$T/s" >"$T/out" 2>&1 || { cat "$T/out"; fail "served chain"; }
n=$(sed -n 's/.*intact: \([0-9]*\) records, \([0-9]*\) checkpoints.*/\2/p' "$T/out")
[ "${n:-0}" -ge 3 ] || { cat "$T/out"; fail "only ${n:-0} checkpoints from the server"; }
r=$(sed -n 's/.*intact: \([0-9]*\) records.*/\1/p' "$T/out")
[ "${r:-0}" -ge 4 ] || { cat "$T/out"; fail "the reads were not recorded"; }
sql "$T/s" "DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)"
expect 1 "truncated" "$M" audit verify --data "$T/s"
# a key the store does not hold: the server refuses to start (exit 1)
rm -rf "$T/s2"; mkdir "$T/s2"
expect 0 "public key" "$M" audit keygen --data "$T/s2" --key "$T/s2.key"
expect 1 "first checkpoint" "$M" serve --listen 127.0.0.1:0 --data "$T/s2" \
  --audit-key "$T/s.key"

# bad input
expect 2 "not a directory" "$M" audit verify --data "$T/nowhere"
mkdir "$T/empty"
expect 2 "holds no store" "$M" audit verify --data "$T/empty"
expect 2 "required" "$M" audit verify
expect 2 "unknown subcommand" "$M" audit frobnicate --data "$T/a"
expect 2 "outcome" "$M" audit append --data "$T/a" --actor u --action read \
  --resource x --purpose t --outcome abc
echo "audit: ok"
