# pptp-image.sh - sourced by build-initramfs.sh -e for the PPTP VM test (vm-pptp-test.sh).
# Adds what Debian's kernel needs for a real PPP tunnel (ppp_generic, ppp_async,
# ppp_mppe, veth for the two namespaces), the real pppd, pptp and pptpd, pppd's
# passwordfd plugin, roamvpn-hook and the daemon's plugins, and replaces /init with
# pptp-guest-init.sh. Uses ROOT, KV, BUILD, HERE and the helpers of build-initramfs.sh.
# nf_tables (and crc32c_generic, a soft dependency of its libcrc32c that modinfo does not
# list): roamvpnd's kill switch, so the daemon runs as on an ordinary system.
for m in ppp_generic ppp_async ppp_mppe veth crc32c_generic nf_tables; do add_mod "$m"; done
install_bin pppd usr/sbin
install_bin pptp usr/sbin
install_bin pptpd usr/sbin
install_bin pptpctrl usr/sbin
# pppd finds "plugin passwordfd.so" in its compiled-in directory.
PPPD_PLUGIN=$(ls -d /usr/lib/pppd/*/passwordfd.so 2>/dev/null | head -1)
[ -n "$PPPD_PLUGIN" ] || { echo "pppd's passwordfd.so not found (package ppp)" >&2; exit 1; }
mkdir -p "$ROOT/$(dirname "$PPPD_PLUGIN")" "$ROOT/etc/ppp" "$ROOT/var/run" "$ROOT/var/log"
cp "$PPPD_PLUGIN" "$ROOT/$PPPD_PLUGIN"
: > "$ROOT/etc/ppp/options"   # pppd reads it if present; Debian's has "auth", ours nothing
mkdir -p "$ROOT/usr/local/libexec/roamvpn" "$ROOT/usr/local/lib/roamvpn/plugins"
if [ -x "$BUILD/hooks/roamvpn-hook" ]; then
  cp "$BUILD/hooks/roamvpn-hook" "$ROOT/usr/local/libexec/roamvpn/"
  copy_libs "$BUILD/hooks/roamvpn-hook"
fi
for so in "$BUILD"/plugins/*.so; do
  [ -f "$so" ] || continue
  cp "$so" "$ROOT/usr/local/lib/roamvpn/plugins/"; copy_libs "$so"
done
install -m 755 "$HERE/pptp-guest-init.sh" "$ROOT/init"
