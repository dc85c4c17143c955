#!/usr/bin/env bash
# tls_fixture.sh - real TLS / mTLS / API-key / proxy front ends for the connection tests:
# certificates made here with the openssl CLI, nginx (grpc_pass) in front of the Temporal dev
# server, tinyproxy as an HTTP CONNECT proxy with basic auth. Test support only.
#
#   tls_fixture.sh certs DIR             CA, a second CA, server / client / expired certificates
#   tls_fixture.sh nginx-up DIR UPSTREAM nginx on the ports below, forwarding to UPSTREAM
#   tls_fixture.sh nginx-down DIR
#   tls_fixture.sh proxy-up DIR          tinyproxy on PROXY_PORT, user "saga", password "s3cret"
#   tls_fixture.sh proxy-down DIR
#
# Ports (temporal library range): TLS 26081, mTLS 26082, TLS + API key 26083, plaintext with a
# required extra header and temporal-namespace 26084, TLS with an expired server certificate 26085, plaintext 26086,
# proxy 26087. The server certificate names only DNS:temporal.test (no IP), so a client must
# say which name to check (tls_server_name).
set -euo pipefail
cmd=${1:?command}
D=${2:?directory}
mkdir -p "$D"
D=$(cd "$D" && pwd)
API_KEY=${TC_TEST_API_KEY:-test-key-7f3a}

ossl() { openssl "$@" >>"$D/openssl.log" 2>&1; }

# leaf NAME CN SAN START END: key + certificate signed by the test CA for the given period.
leaf() {
  local name=$1 cn=$2 san=$3 start=$4 end=$5
  ossl req -new -newkey rsa:2048 -nodes -keyout "$D/$name.key" -out "$D/$name.csr" \
    -subj "/CN=$cn" -addext "subjectAltName=$san"
  ossl ca -batch -config "$D/ca.cnf" -cert "$D/ca.pem" -keyfile "$D/ca.key" \
    -in "$D/$name.csr" -out "$D/$name.pem" -startdate "$start" -enddate "$end" -notext
}

certs() {
  rm -rf "$D/newcerts" "$D/index.txt"*
  mkdir -p "$D/newcerts"
  : >"$D/index.txt"
  echo 1000 >"$D/serial"
  cat >"$D/ca.cnf" <<EOF
[ ca ]
default_ca = test_ca
[ test_ca ]
database = $D/index.txt
new_certs_dir = $D/newcerts
serial = $D/serial
default_md = sha256
policy = any_name
copy_extensions = copy
unique_subject = no
[ any_name ]
commonName = supplied
EOF
  ossl req -x509 -newkey rsa:2048 -nodes -keyout "$D/ca.key" -out "$D/ca.pem" \
    -subj "/CN=saga test CA" -days 30
  ossl req -x509 -newkey rsa:2048 -nodes -keyout "$D/other-ca.key" -out "$D/other-ca.pem" \
    -subj "/CN=unrelated CA" -days 30
  local now later
  now=$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)
  later=$(date -u -d '+30 days' +%Y%m%d%H%M%SZ)
  leaf server temporal.test DNS:temporal.test "$now" "$later"
  leaf client saga-client DNS:saga-client "$now" "$later"
  leaf expired temporal.test DNS:temporal.test 20200101000000Z 20200201000000Z
  chmod 600 "$D"/*.key
}

nginx_up() {
  local up=$1
  mkdir -p "$D/nginx-tmp"
  local tls="ssl_certificate $D/server.pem; ssl_certificate_key $D/server.key;"
  local pass="grpc_pass grpc://$up; grpc_read_timeout 300s; grpc_send_timeout 300s;"
  cat >"$D/nginx.conf" <<EOF
worker_processes 1;
pid $D/nginx.pid;
error_log $D/nginx-error.log info;
events { worker_connections 256; }
http {
  access_log $D/nginx-access.log;
  client_body_temp_path $D/nginx-tmp/body;
  proxy_temp_path $D/nginx-tmp/proxy;
  fastcgi_temp_path $D/nginx-tmp/fastcgi;
  uwsgi_temp_path $D/nginx-tmp/uwsgi;
  scgi_temp_path $D/nginx-tmp/scgi;
  server { listen 127.0.0.1:26081 ssl http2; $tls location / { $pass } }
  server {
    listen 127.0.0.1:26082 ssl http2; $tls
    ssl_client_certificate $D/ca.pem; ssl_verify_client on;
    location / { $pass }
  }
  server {
    listen 127.0.0.1:26083 ssl http2; $tls
    location / {
      if (\$http_authorization != "Bearer $API_KEY") { return 401; }
      $pass
    }
  }
  server {
    listen 127.0.0.1:26084 http2;
    location / {
      if (\$http_x_saga_tenant != "acme") { return 403; }
      if (\$http_temporal_namespace != "default") { return 403; }
      $pass
    }
  }
  server {
    listen 127.0.0.1:26085 ssl http2;
    ssl_certificate $D/expired.pem; ssl_certificate_key $D/expired.key;
    location / { $pass }
  }
  server { listen 127.0.0.1:26086 http2; location / { $pass } }
}
EOF
  nginx -q -p "$D/nginx-tmp" -c "$D/nginx.conf" -e "$D/nginx-error.log"
  for _ in $(seq 1 100); do
    [[ -s $D/nginx.pid ]] && (exec 3<>/dev/tcp/127.0.0.1/26086) 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nginx did not start" >&2
  cat "$D/nginx-error.log" >&2 || true
  return 1
}

stop_pidfile() {
  local f=$1 pid
  [[ -s $f ]] || return 0
  pid=$(cat "$f")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$f"
}

proxy_up() {
  cat >"$D/tinyproxy.conf" <<EOF
Port 26087
Listen 127.0.0.1
Timeout 600
LogFile "$D/tinyproxy.log"
LogLevel Connect
MaxClients 50
BasicAuth saga s3cret
EOF
  : >"$D/tinyproxy.log"
  chmod 666 "$D/tinyproxy.log"
  tinyproxy -d -c "$D/tinyproxy.conf" </dev/null >>"$D/tinyproxy.out" 2>&1 &
  echo $! >"$D/tinyproxy.pid"
  for _ in $(seq 1 100); do
    (exec 3<>/dev/tcp/127.0.0.1/26087) 2>/dev/null && return 0
    sleep 0.1
  done
  echo "tinyproxy did not start" >&2
  cat "$D/tinyproxy.out" >&2 || true
  return 1
}

case $cmd in
  certs) certs ;;
  nginx-up) nginx_up "${3:?upstream host:port}" ;;
  nginx-down) stop_pidfile "$D/nginx.pid" ;;
  proxy-up) proxy_up ;;
  proxy-down) stop_pidfile "$D/tinyproxy.pid" ;;
  *) echo "usage: $0 certs|nginx-up|nginx-down|proxy-up|proxy-down DIR [UPSTREAM]" >&2; exit 2 ;;
esac
