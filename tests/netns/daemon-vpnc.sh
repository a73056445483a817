#!/bin/bash
# daemon-vpnc.sh - roamvpnd drives the REAL vpnc against a REAL strongSwan gateway
# (IKEv1 aggressive PSK + XAuth, mode-config, Unity split include; userspace ESP via
# charon's kernel-libipsec, since this kernel has no ESP). vpnc runs as an exec
# tunnel with Report=hook: its script is roamvpn-hook, and the daemon applies the
# address, the split route and DNS that the gateway pushed. Then: traffic to the
# corporate host goes through the tunnel, a report from a process the daemon did
# not start is refused, link down removes everything again.
# Gateway setup after ../shared/lab/peers/vpnc-strongswan.sh (findings reused).
. "$(dirname "$0")/lib.sh"
rv_require_root
for p in vpnc /usr/lib/ipsec/charon swanctl ping; do
	command -v "$p" >/dev/null || [ -x "$p" ] || { echo "SKIP: $p not installed"; exit 77; }
done
ROAMVPN_HOOK=$RV_BUILD/hooks/roamvpn-hook
[ -x "$ROAMVPN_HOOK" ] || { echo "FAIL: $ROAMVPN_HOOK not built"; exit 1; }
rv_setup rvvpnc

C=rvvpnc-cli-$$; S=rvvpnc-srv-$$; K=rvvpnc-corp-$$
for n in $C $S $K; do rv_netns_add "$n"; done
ip link add lan0 netns "$C" type veth peer name vps0 netns "$S"
ip link add vpk0 netns "$S" type veth peer name vpk1 netns "$K"
ip -n "$C" addr add 10.77.0.1/24 dev lan0
ip -n "$S" addr add 10.77.0.2/24 dev vps0; ip -n "$S" link set vps0 up
ip -n "$S" addr add 10.77.2.1/24 dev vpk0; ip -n "$S" link set vpk0 up
ip -n "$K" addr add 10.77.2.2/24 dev vpk1; ip -n "$K" link set vpk1 up
ip -n "$K" route add default via 10.77.2.1
ip netns exec "$S" sysctl -qw net.ipv4.ip_forward=1

W=$RV_TMP/gw; mkdir -p "$W"
cat >"$W/strongswan.conf" <<EOF
charon {
  load_modular = no
  load = random nonce aes sha1 sha2 md5 hmac gmp openssl pem pkcs1 x509 pubkey kdf kernel-libipsec kernel-netlink socket-default vici attr unity xauth-generic
  install_virtual_ip = no
  i_dont_care_about_security_and_use_aggressive_mode_psk = yes
  filelog { gw { path = $W/charon.log
                 time_format = %T
                 default = 1
                 flush_line = yes } }
  syslog { daemon { default = -1 } auth { default = -1 } }
  plugins { vici { socket = unix://$W/charon.vici } }
}
swanctl { load = pem pkcs1 x509 revocation constraints pubkey openssl random }
EOF
cat >"$W/swanctl.conf" <<'EOF'
connections {
  cisco {
    version = 1
    aggressive = yes
    local_addrs = 10.77.0.2
    pools = vpnpool
    send_certreq = no
    proposals = aes256-sha1-modp1024,aes128-sha1-modp1024,default
    local { auth = psk
            id = 10.77.0.2 }
    remote { auth = psk
             id = keyid:vpngroup }
    remote-xauth { auth = xauth }
    children { corp { local_ts = 10.77.2.0/24
                      esp_proposals = aes256-sha1,aes128-sha1,default } }
  }
}
pools {
  vpnpool {
    addrs = 10.77.100.10-10.77.100.50
    dns = 10.77.2.53
    netmask = 255.255.255.0
    28674 = corp.example
  }
}
secrets {
  ike-group { id = keyid:vpngroup
              secret = "grouppsk123" }
  xauth-alice { id = alice
                secret = "alicepass" }
}
EOF
ip netns exec "$S" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin STRONGSWAN_CONF="$W/strongswan.conf" \
	/usr/lib/ipsec/charon >"$W/charon.out" 2>&1 &
RV_PIDS+=($!)
rv_wait_for 10 test -S "$W/charon.vici" || { echo "FAIL: charon did not start"; cat "$W/charon.out"; exit 1; }
if ! ip netns exec "$S" env STRONGSWAN_CONF="$W/strongswan.conf" swanctl --load-all \
	--file "$W/swanctl.conf" --uri "unix://$W/charon.vici" >"$W/swanctl.out" 2>&1; then
	echo "FAIL: swanctl"; cat "$W/swanctl.out"; exit 1
fi

# The client side: secrets in a root-only file, never on a command line.
mkdir -p "$RV_TMP/etc/tunnels" "$RV_TMP/etc/rules" "$RV_TMP/state"
install -m 600 /dev/null "$RV_TMP/vpnc-corp.conf"
cat >"$RV_TMP/vpnc-corp.conf" <<EOF
IPSec gateway 10.77.0.2
IPSec ID vpngroup
IPSec secret grouppsk123
Xauth username alice
Xauth password alicepass
Interface name vpnctun0
Pidfile $RV_TMP/vpnc.pid
EOF
printf 'nameserver 10.77.0.2\n' >"$RV_TMP/resolv.conf"
cp "$RV_TMP/resolv.conf" "$RV_TMP/resolv.conf.orig"
printf '[General]\nDNS=file\nDebounceMs=200\n' >"$RV_TMP/etc/roamvpn.conf"
cat >"$RV_TMP/etc/tunnels/corp.conf" <<EOF
[Tunnel]
Backend=exec
[exec]
Start=/usr/sbin/vpnc --no-detach --non-inter --natt-mode natt --local-port 0 --script $ROAMVPN_HOOK $RV_TMP/vpnc-corp.conf
Report=hook
EOF
printf '[Match]\nType=ether\n[Action]\nConnect=corp\n' >"$RV_TMP/etc/rules/50-any-wire.rules"

rv_start_bus
ROAMVPN_HOOK_PATH=$ROAMVPN_HOOK rv_start_daemon "$C"

t0=$(date +%s%N)
ip -n "$C" link set lan0 up
if rv_wait_for 20 rv_tunnel_is corp up; then
	ok "vpnc connected and reported through roamvpn-hook ($(( ($(date +%s%N) - t0) / 1000000 )) ms after link up)"
else
	fail "tunnel up through vpnc"; tail -40 "$RV_TMP/daemon.log"; tail -20 "$W/charon.log"
fi
check "pushed address on vpnctun0" sh -c "ip -n $C -4 addr show dev vpnctun0 | grep -q 'inet 10.77.100.'"
check "split route 10.77.2.0/24 via the tunnel" sh -c "ip -n $C route show 10.77.2.0/24 | grep -q 'dev vpnctun0'"
check "no default route through the tunnel (split tunnel)" sh -c "! ip -n $C route show default | grep -q vpnctun0"
check "pushed DNS server in resolv.conf" grep -q '^nameserver 10.77.2.53' "$RV_TMP/resolv.conf"
check "pushed domain in resolv.conf" grep -q 'corp.example' "$RV_TMP/resolv.conf"
check "ping the corporate host through the tunnel" ip netns exec "$C" ping -c 2 -W 2 -i 0.3 10.77.2.2
check "secrets not on vpnc's command line" sh -c "! grep -q -a 'alicepass\|grouppsk' /proc/\$(pgrep -x vpnc | head -1)/cmdline"
check "secrets not in the daemon log" sh -c "! grep -q 'alicepass\|grouppsk' '$RV_TMP/daemon.log'"

# A report from a process roamvpnd did not start is refused.
ip netns exec "$C" env ROAMVPN_HOOK_SOCKET="$RV_TMP/state/hook.sock" reason=connect TUNDEV=evil0 \
	INTERNAL_IP4_ADDRESS=10.66.6.6 "$ROAMVPN_HOOK" >"$RV_TMP/evil.out" 2>&1
rc=$?
check "stranger's report refused (exit $rc)" [ "$rc" = 1 ]
check "refusal explains why" grep -q 'not a process started by roamvpnd' "$RV_TMP/evil.out"
check "tunnel unchanged by the stranger" rv_tunnel_is corp up

ip -n "$C" link set lan0 down
check "tunnel down after link down" rv_wait_for 10 rv_tunnel_is corp down
check "vpnc gone" rv_wait_for 10 sh -c "! pgrep -x vpnc >/dev/null"
check "split route removed" sh -c "! ip -n $C route show 10.77.2.0/24 | grep -q ."
check "resolv.conf restored byte for byte" cmp -s "$RV_TMP/resolv.conf" "$RV_TMP/resolv.conf.orig"

[ "$RV_FAILED" = 0 ] || { echo "---- daemon log"; tail -50 "$RV_TMP/daemon.log"; }
rv_summary
