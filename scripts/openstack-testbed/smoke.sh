#!/usr/bin/env bash
# Smoke test of a running testbed (scripts/openstack-testbed.sh up), through the REST APIs only,
# as the non-admin michman user: create a server (network, flavor id, image, keypair), wait for
# ACTIVE, allocate a floating IP from the external network, associate it with the server's port,
# then delete both. Prints the timings; exit 0 when all of it worked.
set -euo pipefail
ENV_FILE=${1:-/var/lib/michman-testbed/testbed.env}
# shellcheck disable=SC1090
. "$ENV_FILE"
NOVA=http://127.0.0.1:8774/v2.1
NEUTRON=http://127.0.0.1:9696/v2.0
t() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(t)" 'BEGIN{printf "%.1f", b-a}'; }
fail() { echo "SMOKE FAILED: $*" >&2; exit 1; }

body=$(U=$MICHMAN_TEST_KEYSTONE_USER P=$MICHMAN_TEST_KEYSTONE_PASSWORD PR=$MICHMAN_TEST_KEYSTONE_PROJECT jq -nc \
  '{auth:{identity:{methods:["password"],password:{user:{name:env.U,domain:{name:"Default"},password:env.P}}},scope:{project:{name:env.PR,domain:{name:"Default"}}}}}')
TOKEN=$(printf '%s' "$body" | curl -s -D - -o /dev/null -H 'Content-Type: application/json' --data-binary @- "$MICHMAN_TEST_KEYSTONE_URL/auth/tokens" |
  awk 'tolower($1)=="x-subject-token:"{print $2}' | tr -d '\r')
[ -n "$TOKEN" ] || fail "no token for $MICHMAN_TEST_KEYSTONE_USER"
call() { # METHOD URL [JSON]
  local args=(-sS --max-time 120 -X "$1" -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/json' -H 'OpenStack-API-Version: compute 2.79')
  if [ $# -ge 3 ]; then curl "${args[@]}" --data-binary "$3" "$2"; else curl "${args[@]}" "$2"; fi
}

name=smoke-$$-$(date +%s)
t0=$(t)
srv=$(call POST "$NOVA/servers" "$(jq -nc --arg n "$name" --arg i "$MICHMAN_TEST_OS_IMAGE_ID" --arg f "$MICHMAN_TEST_OS_FLAVOR_ID" \
  --arg net "$MICHMAN_TEST_OS_NETWORK_ID" --arg k "$MICHMAN_TEST_OS_KEYPAIR" \
  '{server:{name:$n,imageRef:$i,flavorRef:$f,networks:[{uuid:$net}],key_name:$k}}')")
sid=$(jq -r '.server.id // empty' <<<"$srv"); [ -n "$sid" ] || fail "server create: $srv"
echo "server $sid created (202) in $(since "$t0")s"
status=""
for _ in $(seq 1 180); do
  s=$(call GET "$NOVA/servers/$sid"); status=$(jq -r .server.status <<<"$s")
  [ "$status" = ACTIVE ] || [ "$status" = ERROR ] && break
  sleep 1
done
[ "$status" = ACTIVE ] || fail "server $sid is $status: $(jq -c '.server.fault // empty' <<<"$s")"
echo "server ACTIVE after $(since "$t0")s, addresses $(jq -c .server.addresses <<<"$s")"

port=$(call GET "$NEUTRON/ports?device_id=$sid" | jq -r '.ports[0].id // empty'); [ -n "$port" ] || fail "no port for the server"
t1=$(t)
fip=$(call POST "$NEUTRON/floatingips" "$(jq -nc --arg n "$MICHMAN_TEST_OS_FLOATING_NETWORK_ID" '{floatingip:{floating_network_id:$n}}')")
fid=$(jq -r '.floatingip.id // empty' <<<"$fip"); [ -n "$fid" ] || fail "floating IP create: $fip"
addr=$(jq -r .floatingip.floating_ip_address <<<"$fip")
assoc=$(call PUT "$NEUTRON/floatingips/$fid" "$(jq -nc --arg p "$port" '{floatingip:{port_id:$p}}')")
[ "$(jq -r .floatingip.port_id <<<"$assoc")" = "$port" ] || fail "floating IP associate: $assoc"
echo "floating IP $addr from pool $MICHMAN_TEST_OS_FLOATING_POOL allocated and associated to port $port in $(since "$t1")s (fixed $(jq -r .floatingip.fixed_ip_address <<<"$assoc"))"

# Neutron tells Nova (network-changed event), which refreshes the server's cached addresses.
seen=no
for _ in $(seq 1 30); do
  if call GET "$NOVA/servers/$sid" | jq -e --arg a "$addr" '.server.addresses[][] | select(.addr==$a and .["OS-EXT-IPS:type"]=="floating")' >/dev/null; then seen=yes; break; fi
  sleep 1
done
echo "floating IP in the server's addresses (nova): $seen after $(since "$t1")s"

t2=$(t)
call DELETE "$NEUTRON/floatingips/$fid" >/dev/null
call DELETE "$NOVA/servers/$sid" >/dev/null
for _ in $(seq 1 120); do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Auth-Token: $TOKEN" "$NOVA/servers/$sid")
  [ "$code" = 404 ] && break; sleep 1
done
[ "$code" = 404 ] || fail "server $sid still there after delete (HTTP $code)"
echo "floating IP and server deleted in $(since "$t2")s; total $(since "$t0")s"
echo "SMOKE OK"
