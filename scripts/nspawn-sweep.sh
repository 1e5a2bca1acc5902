#!/usr/bin/env bash
# nspawn-sweep.sh: remove what a killed run of the nspawn provider left on this host, so that the
# suites start on a clean host. A run killed mid-test (a stopped session, a CI timeout) leaves its
# nodes' network namespaces, their veth pairs and the bridge; a later run on the same address range
# then finds the bridge held by those ports and (rightly) keeps it, and its leak check fails.
#
# Conservative: only a `michman-*` namespace with no process in it goes (a live node always has its
# container's processes inside), and only a `mmbr*` bridge with no port left. Meant for test hosts
# before a run; a Michman serving nspawn clusters on the same host may be between creating a
# namespace and booting its container, so do not run it beside one.
set -euo pipefail
removed=0
for ns in $(ip netns list | awk '{print $1}' | grep '^michman-' || true); do
  if [ -z "$(ip netns pids "$ns" 2>/dev/null)" ]; then
    # Deleting the namespace takes its end of the veth pair, and so the pair.
    ip netns del "$ns" && removed=$((removed + 1)) && echo "[nspawn-sweep] namespace $ns (no process in it) removed"
  fi
done
# The kernel tears a namespace's devices down asynchronously: give the pairs a moment to go.
[ "$removed" -gt 0 ] && sleep 2
for br in $(ip -o link show type bridge | sed -n 's/^[0-9]*: \(mmbr[0-9a-f]*\):.*/\1/p'); do
  if [ -z "$(ip -o link show master "$br")" ]; then
    ip link del "$br" && echo "[nspawn-sweep] bridge $br (no port left) removed"
  else
    echo "[nspawn-sweep] bridge $br kept: $(ip -o link show master "$br" | awk -F': ' '{print $2}' | tr '\n' ' ')"
  fi
done
