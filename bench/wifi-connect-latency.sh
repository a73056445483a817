#!/bin/bash
# Time from the kernel's nl80211 CONNECT to the exec backend's Start= command running,
# measured inside the Wi-Fi VM (Debian's kernel under qemu TCG, mac80211_hwsim): the
# VM test's scenario plus CYCLES extra CafeWiFi -> HomeNet round trips.
#
#   bench/wifi-connect-latency.sh [BUILD_ROOT [CYCLES]]
#
# Figures are guest times under emulation (TCG is 10-50x slower than hardware) and
# include roamvpnd's debounce; quote them as "measured under qemu TCG emulation".
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build}
CYCLES=${2:-10}
CONF=$(mktemp)
trap 'rm -f "$CONF"' EXIT
echo "BENCH_CYCLES=$CYCLES" > "$CONF"
ninja -C "$BUILD" daemon/roamvpnd tests/vm/wifi-events >/dev/null
"$SRC/tests/vm/vm-wifi-test.sh" -b "$BUILD" -o "$BUILD/bench/wifi-vm" -c "$CONF" -t 600 |
  grep -E '^(bench|vm run|vm-wifi):'
