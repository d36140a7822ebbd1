#!/usr/bin/env bash
# End-to-end: `medtwin serve --tls-cert --tls-key` (docs/API.md, "TLS") with
# a self-signed certificate made here: /health answers 200 over HTTPS with
# the certificate trusted; TLS 1.2 and 1.3 connect, a client offering only
# TLS 1.1 is refused, and plain HTTP to the TLS port gets no answer. Without
# TLS an address beyond loopback exits 2 naming --insecure, and starts with
# it; --tls-cert without --tls-key, a key readable by others, and a missing
# certificate file exit 2.
set -u
BIN=$1
SRC=$2
for tool in /usr/bin/openssl curl; do
  command -v "$tool" > /dev/null || { echo "tls.sh: $tool is missing (scripts/install-deps)"; exit 1; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/medtwin-tls.XXXXXX") || exit 1
PID=
trap '[ -n "$PID" ] && kill -9 $PID 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }
# Start the server with "$@" and wait for its start line: its port in PORT
# (empty when it did not start).
start() {
  rm -f "$T/out.txt" # not the previous server's port
  "$BIN" serve --data "$T/data" "$@" > "$T/out.txt" 2> "$T/err.txt" &
  PID=$!
  for i in $(seq 300); do grep -q serving "$T/out.txt" && break; sleep 0.1; done
  PORT=$(sed -n 's|.*serving on https\{0,1\}://[0-9.]*:\([0-9]*\).*|\1|p' "$T/out.txt")
}
stop() { kill -TERM $PID; wait $PID; local rc=$?; PID=; return $rc; }

C=$T/cert.pem K=$T/key.pem
/usr/bin/openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
  -nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$K" -out "$C" 2> "$T/openssl.txt" || { cat "$T/openssl.txt"; exit 1; }
chmod 600 "$K"

start --listen 127.0.0.1:0 --tls-cert "$C" --tls-key "$K"
U="https://127.0.0.1:$PORT"
check "listening, the start line says https" '[ -n "$PORT" ] && grep -q "serving on https://127.0.0.1:$PORT" "$T/out.txt"'
check "health 200 over HTTPS, the certificate trusted" '[ "$(curl -s -o "$T/body" -w "%{http_code}" --cacert "$C" $U/health)" = 200 ] && grep -q "\"status\":\"ok\"" "$T/body"'
# OpenSSL 3 refuses TLS 1.1 itself at its default security level, which
# would make the next check pass whatever the server does: level 0 has the
# client offer it, so only the server can refuse.
check "a client offering only TLS 1.1 is refused" '! curl -s -o /dev/null --cacert "$C" --tlsv1.1 --tls-max 1.1 --ciphers "DEFAULT@SECLEVEL=0" $U/health'
check "and the same client connects with TLS 1.2 (the refusal is the version)" '[ "$(curl -s -o /dev/null -w "%{http_code}" --cacert "$C" --tlsv1.2 --tls-max 1.2 --ciphers "DEFAULT@SECLEVEL=0" $U/health)" = 200 ]'
for v in 1.2 1.3; do
  check "openssl s_client -tls${v/./_}: TLSv$v, certificate verified" 'echo | timeout 10 /usr/bin/openssl s_client -tls${v/./_} -connect 127.0.0.1:$PORT -CAfile "$C" > "$T/s_client.txt" 2>&1 && grep -q "^New, TLSv$v," "$T/s_client.txt" && grep -q "Verify return code: 0 (ok)" "$T/s_client.txt"'
done
check "plain HTTP to the TLS port gets no HTTP answer" '! curl -s -o /dev/null --max-time 10 http://127.0.0.1:$PORT/health'
check "SIGTERM stops it, exit 0" 'stop'

"$BIN" serve --listen 0.0.0.0:0 --data "$T/data" 2> "$T/e1.txt" > /dev/null
check "beyond loopback without TLS: exit 2 naming --insecure" '[ $? -eq 2 ] && grep -q -- "--insecure" "$T/e1.txt"'
start --listen 0.0.0.0:0 --insecure
check "beyond loopback with --insecure: plain HTTP" '[ -n "$PORT" ] && [ "$(curl -s -o /dev/null -w "%{http_code}" http://127.0.0.1:$PORT/health)" = 200 ] && stop'
start --listen 0.0.0.0:0 --tls-cert "$C" --tls-key "$K"
check "beyond loopback with TLS: no --insecure needed" '[ -n "$PORT" ] && [ "$(curl -s -o /dev/null -w "%{http_code}" --cacert "$C" https://127.0.0.1:$PORT/health)" = 200 ] && stop'

"$BIN" serve --listen 127.0.0.1:0 --data "$T/data" --tls-cert "$C" 2> "$T/e2.txt" > /dev/null
check "--tls-cert without --tls-key: exit 2" '[ $? -eq 2 ] && grep -q -- "--tls-key" "$T/e2.txt"'
cp "$K" "$T/key644.pem" && chmod 644 "$T/key644.pem"
"$BIN" serve --listen 127.0.0.1:0 --data "$T/data" --tls-cert "$C" --tls-key "$T/key644.pem" 2> "$T/e3.txt" > /dev/null
check "a key readable by others: exit 2, chmod 600" '[ $? -eq 2 ] && grep -q -- "--tls-key: .*key644.pem is readable by others; chmod 600" "$T/e3.txt"'
"$BIN" serve --listen 127.0.0.1:0 --data "$T/data" --tls-cert "$T/none.pem" --tls-key "$K" 2> "$T/e4.txt" > /dev/null
check "a missing certificate file: exit 2 naming the option and the file" '[ $? -eq 2 ] && grep -q -- "--tls-cert: .*none.pem" "$T/e4.txt"'
/usr/bin/openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:prime256v1 -out "$T/other.pem" 2> /dev/null && chmod 600 "$T/other.pem"
"$BIN" serve --listen 127.0.0.1:0 --data "$T/data" --tls-cert "$C" --tls-key "$T/other.pem" 2> "$T/e5.txt" > /dev/null
check "a key not the certificate's: exit 1, not serving" '[ $? -eq 1 ] && grep -q "cannot listen on 127.0.0.1:0 with TLS" "$T/e5.txt"'

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
