#!/bin/bash
# roamvpn's Wi-Fi VM test: real association events from mac80211_hwsim in Debian's kernel
# under qemu (KVM when a probe shows it works, else TCG), watched by daemon/wifi.c (tests/vm/wifi-events) and
# the real roamvpnd with an exec tunnel. See tests/vm/guest-init.sh for the scenario.
#
#   vm-wifi-test.sh -b BUILD_ROOT [-o OUTDIR] [-t TIMEOUT_S] [-c TEST_CONF]
#
# TEST_CONF is a shell fragment the guest sources (e.g. BENCH_CYCLES=10, used by
# bench/wifi-connect-latency.sh).
# Needs root and: qemu-system-x86 hostapd wpasupplicant iw iproute2 wireless-regdb kmod
# cpio gzip dbus (see docs/wifi.md); the kernel and busybox-static .debs come from
# `apt-get download` on the first run and are cached in OUTDIR/cache. Exit 77 (skip)
# when a requirement is missing, 0 when every check passed, 1 otherwise.
# Prints one line per check and "vm-wifi: N passed, N failed"; the console with host
# timestamps is kept in OUTDIR/console.log.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=; OUT=; TMO=300; CONF=
while getopts "b:o:t:c:" o; do
  case $o in b) BUILD=$OPTARG ;; o) OUT=$OPTARG ;; t) TMO=$OPTARG ;; c) CONF=$OPTARG ;; *) exit 2 ;; esac
done
[ -n "$BUILD" ] || { echo "usage: $0 -b BUILD_ROOT [-o OUTDIR] [-t TIMEOUT_S] [-c TEST_CONF]" >&2; exit 2; }
OUT=${OUT:-$BUILD/tests/vm/out}

. "$HERE/boot.sh"
rv_vm_require vm-wifi "qemu-system-x86 hostapd wpasupplicant iw iproute2 kmod cpio dbus" \
  qemu-system-x86_64 hostapd hostapd_cli wpa_supplicant wpa_cli iw ip depmod modinfo cpio \
  dbus-daemon apt-get dpkg-deb
rv_vm_image vm-wifi "$OUT" "$BUILD" ${CONF:+-c "$CONF"}
rv_vm_boot "$OUT" "$TMO" "$T1"
rv_vm_tally

# Benchmark: nl80211 CONNECT (roamvpnd's debug line, CLOCK_MONOTONIC) to the tunnel's
# Start= command running (/proc/uptime in the child), both guest clocks of one boot. Each
# tunnel start is paired with the last CONNECT before it; the figure includes the
# supervisor's debounce.
awk '
  /@@RVTEST-LOG-BEGIN \/tmp\/daemon.log/ {d=1; next}
  /@@RVTEST-LOG-BEGIN \/tmp\/tunnel.log/ {t=1; next}
  /@@RVTEST-LOG-END/ {d=0; t=0}
  d && /nl80211 CONNECT on wlan3 at monotonic/ {c[++nc]=$NF}
  t && $2=="START" {s[++ns]=$4}
  END {
    n=0
    for (i=1; i<=ns; i++) {
      last=-1
      for (j=1; j<=nc; j++) if (c[j] <= s[i]) last=c[j]
      if (last >= 0) lat[++n]=(s[i]-last)*1000
    }
    if (n == 0) exit
    for (i=1; i<=n; i++) for (j=i+1; j<=n; j++) if (lat[j] < lat[i]) {x=lat[i]; lat[i]=lat[j]; lat[j]=x}
    printf "bench: nl80211 CONNECT -> exec tunnel Start= running: median %.0f ms, min %.0f, max %.0f over %d starts (guest under qemu TCG emulation; includes the debounce)\n", lat[int((n+1)/2)], lat[1], lat[n], n
  }' "$LOG" | tee "$OUT/bench.txt"
printf 'vm run: %.1fs (accel=%s), total with image build %.1fs\n' "$(( T2 - T1 ))e-6" "$ACCEL" "$(( T2 - T0 ))e-6"
echo "vm-wifi: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
