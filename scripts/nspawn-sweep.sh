#!/usr/bin/env bash
# nspawn-sweep.sh [--kill]: remove what a killed run of the nspawn provider (or of the OpenStack
# suite's test hypervisor) left on this host, so that the suites start on a clean host. A run killed
# mid-test (a stopped session, a CI timeout) leaves its nodes' network namespaces, their veth pairs
# and the bridge; a later run on the same address range then finds the bridge held by those ports
# and (rightly) keeps it, and its leak check fails.
#
# Without --kill it is conservative: only a `michman-*`/`mtbhv-*` namespace with no process in it
# goes (a live node always has its container's processes inside), and only a `mmbr*`/`mtbhv-br0`
# bridge with no port left.
# --kill is for test hosts before a run (.ci/run), where nothing of Michman's may be running yet:
# the machines are detached processes that outlive the killed test, so their namespaces are never
# empty. It first stops every process inside those namespaces, every apt-cacher-ng a test started
# (its configuration under /tmp/michman-* or the testbed's cache) and every artifact cache a test's
# provider started, then sweeps as above.
# Never run it on a host where a Michman serves nspawn clusters.
set -euo pipefail
kill_mode=0
[ "${1:-}" = --kill ] && kill_mode=1
namespaces() { ip netns list | awk '{print $1}' | grep -E '^(michman|mtbhv)-' || true; }

if [ "$kill_mode" = 1 ]; then
  killed=0
  for ns in $(namespaces); do
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [ -z "$pids" ] && continue
    # The machine's systemd-nspawn runs outside the namespace (only its container is inside): the
    # container's init is a child of it, so its parent goes too, or it would start nothing new but
    # hold the namespace's path open.
    parents=$(for p in $pids; do ps -o ppid= -p "$p" 2>/dev/null; done | awk '$1 > 1' | sort -u)
    for p in $parents; do
      case "$(cat "/proc/$p/comm" 2>/dev/null)" in systemd-nspawn) kill -TERM "$p" 2>/dev/null || true ;; esac
    done
    kill -KILL $pids 2>/dev/null || true
    killed=$((killed + 1))
    echo "[nspawn-sweep] namespace $ns: stopped its processes ($(echo $pids | wc -w))"
  done
  for p in $(pgrep -x apt-cacher-ng || true); do
    if tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -Eq -- '-c (/tmp/michman-|/var/tmp/michman-testbed-apt-cache)'; then
      kill -TERM "$p" 2>/dev/null && echo "[nspawn-sweep] apt-cacher-ng $p (a test's) stopped"
    fi
  done
  # The artifact cache a test's provider started (a node server whose working directory is its
  # state directory under the test's /tmp/michman-*): left listening on the bridge's address, it
  # makes the next run's cache fail to bind there.
  for p in $(pgrep -x node || true); do
    case "$(readlink "/proc/$p/cwd" 2>/dev/null)" in
      /tmp/michman-*/nspawn/artifact-cache) kill -TERM "$p" 2>/dev/null && echo "[nspawn-sweep] artifact cache $p (a test's) stopped" ;;
    esac
  done
  # systemd-nspawn takes a moment to tear its container down after TERM.
  [ "$killed" -gt 0 ] && sleep 3
  for p in $(pgrep -x systemd-nspawn || true); do
    if tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -Eq -- '--network-namespace-path=/run/netns/(michman|mtbhv)-'; then
      kill -KILL "$p" 2>/dev/null && echo "[nspawn-sweep] systemd-nspawn $p killed (did not stop on TERM)"
    fi
  done
fi

removed=0
for ns in $(namespaces); do
  if [ -z "$(ip netns pids "$ns" 2>/dev/null)" ]; then
    # Deleting the namespace takes its end of the veth pair, and so the pair.
    ip netns del "$ns" && removed=$((removed + 1)) && echo "[nspawn-sweep] namespace $ns (no process in it) removed"
  fi
done
# The kernel tears a namespace's devices down asynchronously: give the pairs a moment to go.
[ "$removed" -gt 0 ] && sleep 2
for br in $(ip -o link show type bridge | sed -n 's/^[0-9]*: \(mmbr[0-9a-f]*\|mtbhv-br0\):.*/\1/p'); do
  if [ -z "$(ip -o link show master "$br")" ]; then
    ip link del "$br" && echo "[nspawn-sweep] bridge $br (no port left) removed"
  else
    echo "[nspawn-sweep] bridge $br kept: $(ip -o link show master "$br" | awk -F': ' '{print $2}' | tr '\n' ' ')"
  fi
done
