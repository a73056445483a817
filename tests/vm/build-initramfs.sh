#!/bin/bash
# Build the kernel + initramfs for roamvpn's Wi-Fi VM test (qemu TCG, mac80211_hwsim).
# Adapted from the team lab (lab/hwsim/build-initramfs.sh); owned by the project.
#
#   build-initramfs.sh -o OUTDIR -b BUILD_ROOT [-c TEST_CONF] [-e EXTRA_SCRIPT]
#
# OUTDIR receives vmlinuz, initramfs.cpio.gz, kernel-version; OUTDIR/cache keeps the
# extracted Debian kernel subset and busybox-static between runs (the .deb files come
# from `apt-get download`, nothing is installed). BUILD_ROOT is a configured meson build
# directory of this tree: roamvpnd, roamvpnctl and tests/vm/wifi-events are copied from
# it with the shared libraries ldd reports. EXTRA_SCRIPT (bash, sourced before the cpio
# is made) adds what another VM test needs: it may call add_mod, install_bin and
# copy_libs and write into $ROOT (e.g. its own /init); depmod runs again after it.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=; BUILD=; TEST_CONF=; EXTRA_SCRIPT=
while getopts "o:b:c:e:" o; do
  case $o in o) OUT=$OPTARG ;; b) BUILD=$OPTARG ;; c) TEST_CONF=$OPTARG ;; e) EXTRA_SCRIPT=$OPTARG ;; *) exit 2 ;; esac
done
[ -n "$OUT" ] && [ -n "$BUILD" ] || { echo "usage: $0 -o OUTDIR -b BUILD_ROOT [-c TEST_CONF]" >&2; exit 2; }
CACHE=$OUT/cache
ROOT=$OUT/root
mkdir -p "$OUT" "$CACHE"

# ---- 1. Debian kernel (downloaded once, partially extracted, cached) ----
# The package name changes with every Debian kernel update: resolve it each time.
resolve_kernel() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'; }
KPKG=$(resolve_kernel)
if [ -z "$KPKG" ] && ! ls -d "$CACHE"/kernel-* >/dev/null 2>&1; then
  # A fresh machine whose apt lists were never fetched (or were cleaned).
  echo "apt lists do not know linux-image-amd64: running apt-get update" >&2
  timeout 600 apt-get update -q >&2 || true
  KPKG=$(resolve_kernel)
fi
if [ -z "$KPKG" ]; then   # apt lists unavailable: fall back to what is cached
  KPKG=$(cd "$CACHE" && ls -d kernel-* 2>/dev/null | sed 's/^kernel-/linux-image-/' | tail -1)
fi
[ -n "$KPKG" ] || { echo "cannot resolve linux-image-amd64 (run apt-get update)" >&2; exit 1; }
KV=${KPKG#linux-image-}
KDIR=$CACHE/kernel-$KV
# drivers/net/ppp is checked too: caches from before the PPP test lack it.
if [ ! -f "$KDIR/boot/vmlinuz-$KV" ] || [ ! -d "$KDIR/lib/modules/$KV/kernel/drivers/net/ppp" ]; then
  rm -rf "$KDIR" "$KDIR.tmp"; mkdir -p "$KDIR.tmp"
  ls "$CACHE/$KPKG"_*.deb >/dev/null 2>&1 ||
    (cd "$CACHE" && timeout 600 apt-get download -q "$KPKG" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
  ls "$CACHE/$KPKG"_*.deb >/dev/null 2>&1 || { echo "apt-get download $KPKG failed" >&2; exit 1; }
  # Only vmlinuz, the module indexes and the directories the module closure needs.
  dpkg-deb --fsys-tarfile "$CACHE/$KPKG"_*.deb | tar -x -C "$KDIR.tmp" --wildcards \
    "./boot/vmlinuz-$KV" "./lib/modules/$KV/modules.*" \
    "./lib/modules/$KV/kernel/net/*" "./lib/modules/$KV/kernel/lib/*" \
    "./lib/modules/$KV/kernel/crypto/*" "./lib/modules/$KV/kernel/drivers/virtio/*" \
    "./lib/modules/$KV/kernel/drivers/net/wireless/*hwsim*" \
    "./lib/modules/$KV/kernel/drivers/net/ppp/*" "./lib/modules/$KV/kernel/drivers/net/slip/*" \
    "./lib/modules/$KV/kernel/drivers/net/veth.ko"
  rm -f "$CACHE/$KPKG"_*.deb
  mv "$KDIR.tmp" "$KDIR"
fi
cp "$KDIR/boot/vmlinuz-$KV" "$OUT/vmlinuz"
echo "$KV" > "$OUT/kernel-version"
MODSRC=$KDIR/lib/modules/$KV

# ---- 2. fresh root ----
rm -rf "$ROOT"
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,lib/x86_64-linux-gnu,lib64,etc/rvtest,proc,sys,dev,run,tmp,root,var/run,lib/firmware}

# ---- 3. modules: mac80211_hwsim + WPA2 ciphers + their dependency closure ----
WANT=(mac80211_hwsim ccm ctr gcm ghash-generic gf128mul cmac seqiv)
declare -A PATHOF=()
while IFS= read -r f; do
  b=${f##*/}; b=${b%%.ko*}; PATHOF[${b//-/_}]=$f
done < <(find "$MODSRC/kernel" -name '*.ko*')
declare -A SEEN=()
add_mod() {
  local m=${1//-/_}
  [ -n "${SEEN[$m]:-}" ] && return 0
  SEEN[$m]=1
  local f=${PATHOF[$m]:-}
  if [ -z "$f" ]; then
    grep -qE "/(${m}|${1}).ko" "$MODSRC/modules.builtin" 2>/dev/null \
      || { echo "module $1 neither extracted nor built in (widen the tar filter)" >&2; exit 1; }
    return 0
  fi
  local rel=${f#"$MODSRC"/}
  mkdir -p "$ROOT/lib/modules/$KV/$(dirname "$rel")"
  case $f in   # uncompressed, so busybox modprobe needs no decompressor
    *.ko.xz)  xz -dc "$f"    > "$ROOT/lib/modules/$KV/${rel%.xz}" ;;
    *.ko.zst) zstd -qdc "$f" > "$ROOT/lib/modules/$KV/${rel%.zst}" ;;
    *.ko.gz)  gzip -dc "$f"  > "$ROOT/lib/modules/$KV/${rel%.gz}" ;;
    *)        cp "$f" "$ROOT/lib/modules/$KV/$rel" ;;
  esac
  local d
  for d in $(/sbin/modinfo -F depends "$f" | tr ',' ' '); do add_mod "$d"; done
}
for m in "${WANT[@]}"; do add_mod "$m"; done
cp "$MODSRC"/modules.builtin "$MODSRC"/modules.builtin.modinfo "$MODSRC"/modules.order "$ROOT/lib/modules/$KV/" 2>/dev/null || true
/sbin/depmod -b "$ROOT" "$KV"
cp /lib/firmware/regulatory.db /lib/firmware/regulatory.db.p7s "$ROOT/lib/firmware/" 2>/dev/null || true

# ---- 4. programs and their shared libraries ----
copy_libs() {
  local bin=$1 lib dst
  for lib in $(ldd "$bin" | awk '/=> \//{print $3} /^\t\//{print $1}'); do
    dst=$ROOT/lib/x86_64-linux-gnu/$(basename "$lib")
    case $lib in /lib64/*) dst=$ROOT/lib64/$(basename "$lib") ;; esac
    [ -e "$dst" ] || cp -L "$lib" "$dst"
  done
}
install_bin() {   # install_bin PROGRAM DESTDIR
  local src; src=$(command -v "$1" || true)
  [ -n "$src" ] && [ -x "$src" ] || { echo "missing program $1" >&2; exit 1; }
  cp -L "$src" "$ROOT/$2/"; copy_libs "$src"
}
install_bin hostapd usr/sbin
install_bin hostapd_cli usr/sbin
install_bin wpa_supplicant usr/sbin
install_bin wpa_cli usr/sbin
install_bin iw usr/sbin
install_bin /bin/ip usr/sbin            # iproute2: busybox ip has no netns/monitor
install_bin dbus-daemon usr/bin         # private bus for roamvpnd (--bus unix:...)
install_bin dbus-send usr/bin           # the daemon's D-Bus state, for the checks
command -v jq >/dev/null && install_bin jq usr/bin

# The project's own programs, from the build directory.
need_built() { [ -x "$BUILD/$1" ] || { echo "not built: $BUILD/$1" >&2; exit 1; }; }
need_built tests/vm/wifi-events
cp "$BUILD/tests/vm/wifi-events" "$ROOT/usr/local/bin/"; copy_libs "$BUILD/tests/vm/wifi-events"
for p in daemon/roamvpnd client/roamvpnctl; do
  if [ -x "$BUILD/$p" ]; then cp "$BUILD/$p" "$ROOT/usr/local/bin/"; copy_libs "$BUILD/$p"; fi
done

# busybox-static from its .deb (busybox and busybox-static conflict; the installed one may
# be dynamic, which panics the guest).
BB=$CACHE/busybox-static/bin/busybox
if [ ! -x "$BB" ]; then
  rm -rf "$CACHE/busybox-static"; mkdir -p "$CACHE/busybox-static"
  ls "$CACHE"/busybox-static_*.deb >/dev/null 2>&1 ||
    (cd "$CACHE" && timeout 300 apt-get download -q busybox-static 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
  dpkg-deb -x "$CACHE"/busybox-static_*.deb "$CACHE/busybox-static"
  rm -f "$CACHE"/busybox-static_*.deb
fi
if ldd "$BB" >/dev/null 2>&1; then echo "$BB is not static" >&2; exit 1; fi
cp "$BB" "$ROOT/bin/busybox"
for a in $("$BB" --list); do
  [ -e "$ROOT/bin/$a" ] || ln -s busybox "$ROOT/bin/$a"
done
ln -sf ../bin/busybox "$ROOT/sbin/modprobe"   # the kernel's request_module() helper
ln -sf ../bin/busybox "$ROOT/sbin/poweroff"

# ---- 5. init, scenario configuration (an EXTRA_SCRIPT may replace /init afterwards) ----
install -m 755 "$HERE/guest-init.sh" "$ROOT/init"
install -m 755 "$HERE/tunnel-record.sh" "$ROOT/etc/rvtest/tunnel-record.sh"
install -m 644 "$HERE/guest-lib.sh" "$ROOT/etc/rvtest/guest-lib.sh"	# both /inits source it
: > "$ROOT/etc/rvtest/test.conf"
[ -n "$TEST_CONF" ] && cat "$TEST_CONF" >> "$ROOT/etc/rvtest/test.conf"
echo "root:x:0:0:root:/root:/bin/sh" > "$ROOT/etc/passwd"
echo "root:x:0:" > "$ROOT/etc/group"
echo "messagebus:x:100:" >> "$ROOT/etc/group"
echo "netdev:x:101:" >> "$ROOT/etc/group"
if [ -n "$EXTRA_SCRIPT" ]; then
  . "$EXTRA_SCRIPT"
  /sbin/depmod -b "$ROOT" "$KV"
fi

# ---- 6. cpio newc + gzip ----
(cd "$ROOT" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet | gzip -1) > "$OUT/initramfs.cpio.gz"
echo "kernel $KV, initramfs $(stat -c %s "$OUT/initramfs.cpio.gz") bytes"
