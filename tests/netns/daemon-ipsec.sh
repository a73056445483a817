#!/bin/bash
# daemon-ipsec.sh - roamvpnd's ipsec plugin (IKEv2, strongSwan charon with userspace
# ESP) against a REAL strongSwan 5.9 responder in a namespace: the server proves itself
# with a certificate from a CA this test makes, the client logs in with EAP-MSCHAPv2,
# the responder hands out a virtual IP from a pool and a DNS server. This kernel has
# no ESP, so both sides use kernel-libipsec (ESP in UDP through a TUN device).
# The rule brings the tunnel up on link up; the virtual IP is on ipsec0, the DNS server
# in resolv.conf, a ping reaches a host behind the responder; the secrets file is gone
# once up and after a refused start, and the password is in no command line, environment or log; link down
# restores resolv.conf byte for byte; a wrong password is named and not retried; a
# pre-shared key works too; --check refuses bad [ipsec] sections.
# charon keeps a fixed pid file (/var/run/charon.pid): the responder and roamvpnd
# each run in a mount namespace with a /run of their own, so neither touches the
# host's /run nor meets another test's charon.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/plugin-lib.sh"
rv_require_root
for p in /usr/lib/ipsec/charon swanctl openssl ping ss; do
	command -v "$p" >/dev/null || [ -x "$p" ] || { echo "SKIP: $p not installed"; exit 77; }
done
[ -f /usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so ] ||
	{ echo "SKIP: strongSwan's kernel-libipsec not installed (libcharon-extra-plugins)"; exit 77; }
rv_plugin_setup rvipsec ipsec
PASSWORD='ike s3cret"$(touch /tmp/x)'
WRONG='not-the-password'
PSK='psk s3cret with "quotes" and $(touch /tmp/x)'

C=rvipsec-cli-$$; S=rvipsec-srv-$$
rv_gateway_pair "$C" "$S" ips0

# ---- the responder ----------------------------------------------------------------------
W=$RV_TMP/srv; mkdir -p "$W/x509ca" "$W/x509" "$W/private"
# Made outside swanctl's directories (charon is not to see the CA's key), then placed.
mkdir -p "$RV_TMP/pki"
rv_test_pki "$RV_TMP/pki" rvipsec-ca vpn.test $'subjectAltName=DNS:vpn.test,IP:10.77.0.2\nextendedKeyUsage=serverAuth'
cp "$RV_TMP/pki/ca.crt" "$W/x509ca/ca.crt"
cp "$RV_TMP/pki/server.crt" "$W/x509/server.crt"
cp "$RV_TMP/pki/server.key" "$W/private/server.key"
cp "$W/x509ca/ca.crt" "$RV_TMP/corp-ca.pem"
cat >"$W/strongswan.conf" <<EOF
charon {
  load_modular = no
  load = random nonce aes sha1 sha2 hmac gmp openssl pem pkcs1 pkcs8 x509 pubkey kdf kernel-libipsec kernel-netlink socket-default vici attr eap-mschapv2 eap-identity
  install_virtual_ip = no
  filelog { srv { path = $W/charon.log
                  default = 1
                  flush_line = yes } }
  syslog { daemon { default = -1 } }
  plugins { vici { socket = unix://$W/charon.vici } }
}
EOF
cat >"$W/swanctl.conf" <<EOF
connections {
  rw {
    version = 2
    local_addrs = 10.77.0.2
    pools = pool
    send_certreq = no
    local { auth = pubkey
            certs = server.crt
            id = vpn.test }
    remote { auth = eap-mschapv2
             eap_id = %any }
    children { net { local_ts = 10.77.2.0/24 } }
  }
  psk {
    version = 2
    local_addrs = 10.77.0.2
    pools = pool
    local { auth = psk
            id = vpn.test }
    remote { auth = psk
             id = laptop@corp.example }
    children { net { local_ts = 10.77.2.0/24 } }
  }
}
pools { pool { addrs = 10.77.10.0/24
               dns = 10.77.2.53 } }
secrets { eap-alice { id = alice
                      secret = 0x$(printf '%s' "$PASSWORD" | od -An -tx1 | tr -d ' \n') }
          ike-laptop { id-1 = laptop@corp.example
                       id-2 = vpn.test
                       secret = 0x$(printf '%s' "$PSK" | od -An -tx1 | tr -d ' \n') } }
EOF
ip netns exec "$S" unshare --mount --propagation private sh -c '
	mount -t tmpfs rvipsec-run /run || exit 1
	exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin STRONGSWAN_CONF="$1" /usr/lib/ipsec/charon' \
	sh "$W/strongswan.conf" >"$W/charon.out" 2>&1 &
RV_PIDS+=($!)
rv_wait_for 10 test -S "$W/charon.vici" || { echo "FAIL: responder charon did not start"; cat "$W/charon.out"; exit 1; }
ip netns exec "$S" env STRONGSWAN_CONF="$W/strongswan.conf" swanctl --load-all --file "$W/swanctl.conf" \
	--uri "unix://$W/charon.vici" >"$W/swanctl.out" 2>&1 || { echo "FAIL: swanctl"; cat "$W/swanctl.out"; exit 1; }

# ---- the tunnel file ------------------------------------------------------------------------
mkdir -p "$RV_TMP/etc/tunnels" "$RV_TMP/etc/rules" "$RV_TMP/state"
write_tunnel() {   # write_tunnel PASSWORD
	(umask 077; cat >"$RV_TMP/etc/tunnels/corp.conf") <<EOF
[Tunnel]
Backend=ipsec
[ipsec]
Server=10.77.0.2
RemoteIdentity=vpn.test
Username=alice
Password=$1
CACert=$RV_TMP/corp-ca.pem
EOF
}
write_tunnel "$PASSWORD"
rv_check_accepts "the [ipsec] tunnel"
bad_conf() { rv_plugin_refuses "s3cret" "$@"; }
bad_conf "Username= without CACert=" 'corp.conf:3: \[ipsec\] with Username= needs CACert=' "[Tunnel]
Backend=ipsec
[ipsec]
Server=10.77.0.2
Username=alice
Password=$PASSWORD"
bad_conf "PSK= and Username= together" 'corp.conf:3: \[ipsec\] needs PSK= or Username=/Password=' "[Tunnel]
Backend=ipsec
[ipsec]
Server=10.77.0.2
PSK=$PASSWORD
Username=alice
Password=$PASSWORD
CACert=$RV_TMP/corp-ca.pem"
bad_conf "an identity that would break swanctl.conf" 'corp.conf:5: RemoteIdentity=' "[Tunnel]
Backend=ipsec
[ipsec]
Server=10.77.0.2
RemoteIdentity=vpn } secrets {
PSK=$PASSWORD"
bad_conf "a hostile Server=" 'corp.conf:4: Server=' "[Tunnel]
Backend=ipsec
[ipsec]
Server=10.77.0.2;touch
PSK=$PASSWORD"

# ---- roamvpnd, in a mount namespace with its own /run (charon's pid file) ---------------
rv_corp_on_lan0 'BackoffInitialMs=3000\n'
rv_start_bus
: >"$RV_TMP/etc-resolv.conf"
ip netns exec "$C" unshare --mount --propagation private -- sh -c '
	mount --bind "$1" /etc/resolv.conf && mount -t tmpfs rvipsec-run /run || exit 1
	shift
	exec "$@"' sh "$RV_TMP/etc-resolv.conf" \
	"$ROAMVPND" --foreground --debug --bus "$RV_BUS" --config-dir "$RV_TMP/etc" \
	--state-dir "$RV_TMP/state" --resolv-conf "$RV_TMP/resolv.conf" >>"$RV_TMP/daemon.log" 2>&1 &
RV_DAEMON_PID=$!
RV_PIDS+=($RV_DAEMON_PID)
rv_wait_for 10 rv_ctl status || { echo "FAIL: roamvpnd did not come up"; tail -20 "$RV_TMP/daemon.log"; exit 1; }

rv_link_up_tunnel_up "$C" 30 "tunnel up through charon, IKEv2 EAP-MSCHAPv2" || tail -20 "$W/charon.log"
check "device ipsec0 (kernel-libipsec) reported" [ "$(field Interface)" = ipsec0 ]
check "virtual IP from the responder's pool on ipsec0" sh -c "ip -n $C -4 addr show dev ipsec0 | grep -q 'inet 10.77.10.'"
check "route to the responder's subnet 10.77.2.0/24 through ipsec0" \
	sh -c "ip -n $C route show table all 10.77.2.0/24 | grep -q 'dev ipsec0'"
check "responder's DNS server in resolv.conf" grep -q '^nameserver 10.77.2.53' "$RV_TMP/resolv.conf"
check "ping the host behind the responder through ESP" ip netns exec "$C" ping -c 2 -W 2 -i 0.3 10.77.2.1
check "the secrets file is gone once up" sh -c "! ls '$RV_TMP'/state/ipsec-corp/swanctl.conf 2>/dev/null"
pid=$(running charon)
check "charon runs (pid ${pid:-none})" [ -n "$pid" ]
check "the password is not in charon's command line or environment" \
	sh -c "! cat /proc/$pid/cmdline /proc/$pid/environ | tr '\\0' '\\n' | grep -qF 's3cret'"
check "the password is not in the daemon log" sh -c "! grep -qF 's3cret' '$RV_TMP/daemon.log'"

ip -n "$C" link set lan0 down
check "tunnel down after link down" rv_wait_for 15 rv_tunnel_is corp down
check "charon gone" rv_wait_for 10 gone charon
check "resolv.conf restored byte for byte" cmp -s "$RV_TMP/resolv.conf" "$RV_TMP/resolv.conf.orig"

# ---- a wrong password: named --------------------------------------------------------------
write_tunnel "$WRONG"
logins() { grep -c 'initiating EAP_MSCHAPV2 method' "$W/charon.log"; }
before=$(logins)
rv_plugin_up_names "a wrong password is named" "authentication failed"
check "charon stopped after the refusal" rv_wait_for 10 gone charon
# The run's directory stays (strongswan.conf, so this cannot pass on a wrong path);
# the secrets file does not outlive a failed start.
check "the secrets file is gone after the refusal (its directory is still there)" \
	sh -c "[ -f '$RV_TMP/state/ipsec-corp/strongswan.conf' ] && [ ! -e '$RV_TMP/state/ipsec-corp/swanctl.conf' ]"
ip -n "$C" link set lan0 down
ip -n "$C" link set lan0 up
sleep 7	# two backoff steps (BackoffInitialMs=3000) in which a retry would come
n=$(( $(logins) - before ))
check "exactly one login with the wrong password in ~7 s (no retry after an auth failure; saw $n)" [ "$n" = 1 ]
ip -n "$C" link set lan0 down

# ---- a pre-shared key instead of EAP ----------------------------------------------------
(umask 077; cat >"$RV_TMP/etc/tunnels/corp.conf") <<EOF
[Tunnel]
Backend=ipsec
[ipsec]
Server=10.77.0.2
Identity=laptop@corp.example
RemoteIdentity=vpn.test
PSK=$PSK
EOF
rv_ctl reload >/dev/null
sleep 0.5
rv_link_up_tunnel_up "$C" 30 "tunnel up with PSK= (IKEv2 PSK both ways)"
check "PSK: ping the host behind the responder" ip netns exec "$C" ping -c 2 -W 2 -i 0.3 10.77.2.1
check "PSK: the key is not in the daemon log" sh -c "! grep -qF 'psk s3cret' '$RV_TMP/daemon.log'"
ip -n "$C" link set lan0 down
check "PSK: tunnel down after link down" rv_wait_for 15 rv_tunnel_is corp down
check "PSK: charon gone" rv_wait_for 10 gone charon

[ "$RV_FAILED" = 0 ] || { echo "---- daemon log"; tail -60 "$RV_TMP/daemon.log"; }
rv_summary
