#!/bin/sh
# Two real parley nodes in cluster mode (the local PostgreSQL, RabbitMQ and
# memcached) behind Debian's nginx with deploy/nginx.conf, for the browser
# tests: the same chat tests as on one node, through a load balancer.
set -eu
port=$1
dir="${TMPDIR:-/tmp}/parley-e2e-cluster-$port"
rm -rf "$dir" && mkdir -p "$dir"
db=parley_e2e_cluster_$port
pgurl=${PARLEY_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
PGOPTIONS="-c client_min_messages=warning" psql -q "$pgurl" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
suffix=$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')

export PARLEY_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable"
export PARLEY_AMQP_URL=${PARLEY_TEST_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/}
export PARLEY_AMQP_EXCHANGE=parley.e2e.$suffix
export PARLEY_MEMCACHED=${PARLEY_TEST_MEMCACHED:-127.0.0.1:11211}
export PARLEY_MEMCACHED_PREFIX=parley:e2e:$suffix:
export PARLEY_TRUSTED_PROXIES=127.0.0.1
export PARLEY_TEST_FETCH_ALLOW=127.0.0.0/8 # the link preview test serves its page on 127.0.0.1
export PARLEY_SEND_RATE=0 PARLEY_SIGNUP_RATE=0 PARLEY_LOG_FORMAT=json PARLEY_LOG_LEVEL=warn

n1=$((port + 1)); n2=$((port + 2))
../parley migrate >/dev/null
../parley serve --addr 127.0.0.1:$n1 --node-id e2e-node1 > "$dir/node1.log" 2>&1 &
p1=$!
../parley serve --addr 127.0.0.1:$n2 --node-id e2e-node2 > "$dir/node2.log" 2>&1 &
p2=$!

sed -e "/# parley:upstream$/,/# parley:upstream-end/c\\
        server 127.0.0.1:$n1 max_fails=1 fail_timeout=5s;\\
        server 127.0.0.1:$n2 max_fails=1 fail_timeout=5s;" \
    -e "s|listen 80;|listen 127.0.0.1:$port;|" \
    -e "s|worker_processes auto;|worker_processes 1; pid $dir/nginx.pid;|" \
    -e "s|^http {|http { access_log $dir/access.log; client_body_temp_path $dir/body; proxy_temp_path $dir/proxy; fastcgi_temp_path $dir/fastcgi; uwsgi_temp_path $dir/uwsgi; scgi_temp_path $dir/scgi;|" \
    ../deploy/nginx.conf > "$dir/nginx.conf"
nginx=$(command -v nginx || echo /usr/sbin/nginx)
"$nginx" -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" -g 'daemon off;' &
pn=$!

stop() {
  kill -TERM $pn $p1 $p2 2>/dev/null || true
  wait $p1 $p2 2>/dev/null || true
  psql -q "$pgurl" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" 2>/dev/null || true
  exit 0
}
trap stop TERM INT
wait
