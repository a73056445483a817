#!/bin/bash
# roamvpn's PPTP VM test: a whole PPTP tunnel (real pppd on both ends, MS-CHAPv2, MPPE)
# in Debian's kernel under qemu (KVM when tests/vm/accel.sh's probe shows it works, else TCG), since the host kernel has no PPP.
# See tests/vm/pptp-guest-init.sh for the scenario.
#
#   vm-pptp-test.sh -b BUILD_ROOT [-o OUTDIR] [-t TIMEOUT_S]
#
# Needs root and what build-initramfs.sh needs, plus ppp, pptp-linux, pptpd (their
# programs are copied into the image). The image is build-initramfs.sh's with
# tests/vm/pptp-image.sh added. Exit 77 (skip) when a requirement is missing, 0 when
# every check passed, 1 otherwise. Prints one line per check and
# "vm-pptp: N passed, N failed"; the console with host timestamps is OUTDIR/console.log.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=; OUT=; TMO=400
while getopts "b:o:t:" o; do
  case $o in b) BUILD=$OPTARG ;; o) OUT=$OPTARG ;; t) TMO=$OPTARG ;; *) exit 2 ;; esac
done
[ -n "$BUILD" ] || { echo "usage: $0 -b BUILD_ROOT [-o OUTDIR] [-t TIMEOUT_S]" >&2; exit 2; }
OUT=${OUT:-$BUILD/tests/vm/out-pptp}

. "$HERE/boot.sh"
rv_vm_require vm-pptp "qemu-system-x86 hostapd wpasupplicant iw iproute2 kmod cpio dbus ppp pptp-linux pptpd" \
  qemu-system-x86_64 hostapd hostapd_cli wpa_supplicant wpa_cli iw ip depmod modinfo cpio \
  dbus-daemon apt-get dpkg-deb pppd pptp pptpd pptpctrl
rv_vm_image vm-pptp "$OUT" "$BUILD" -e "$HERE/pptp-image.sh"
rv_vm_boot "$OUT" "$TMO" "$T1"
rv_vm_tally
printf 'vm run: %.1fs (accel=%s), total with image build %.1fs\n' "$(( T2 - T1 ))e-6" "$ACCEL" "$(( T2 - T0 ))e-6"
echo "vm-pptp: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
