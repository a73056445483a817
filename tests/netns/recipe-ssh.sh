#!/bin/bash
# recipe-ssh.sh - the OpenSSH recipe of docs/tunnels.md, tested: an exec tunnel runs
# `ssh -N -w any:7 -o Tunnel=point-to-point` (key authentication, pinned host key)
# against a real sshd with PermitTunnel in another namespace; ssh's LocalCommand
# reports the tun device ssh opened (%T), the address, route and DNS through
# roamvpn-hook (Report=hook). The rule brings it up on link up; a ping reaches a host
# behind the gateway; link down ends ssh, removes the route and restores resolv.conf.
# sshd needs its privilege-separation directory /run/sshd: it runs in a private mount
# namespace with a tmpfs on /run, so the host's /run is not touched.
. "$(dirname "$0")/lib.sh"
rv_require_root
for p in ssh ssh-keygen /usr/sbin/sshd; do
	command -v "$p" >/dev/null || { echo "SKIP: $p not installed (openssh-client, openssh-server)"; exit 77; }
done
getent passwd sshd >/dev/null || { echo "SKIP: no sshd user (openssh-server)"; exit 77; }
SSH=$(command -v ssh)
HOOK=$RV_BUILD/hooks/roamvpn-hook
[ -x "$HOOK" ] || { echo "FAIL: $HOOK not built"; exit 1; }
rv_setup rvssh

C=rvssh-cli-$$; S=rvssh-gw-$$
rv_gateway_pair "$C" "$S" gw0		# 10.77.2.1: a host behind the gateway

# ---- the gateway: sshd with PermitTunnel and a persistent tun7 ------------------------
W=$RV_TMP/gw; mkdir -p "$W"; chmod 700 "$W"
ssh-keygen -q -t ed25519 -N '' -f "$W/host_key" -C rvssh-gw
ssh-keygen -q -t ed25519 -N '' -f "$RV_TMP/id_corp" -C roamvpn-corp
# tunnel="7": whatever the client asks, this key gets tun7 on the gateway
printf 'tunnel="7" %s\n' "$(cat "$RV_TMP/id_corp.pub")" >"$W/authorized_keys"
printf '10.77.0.2 %s\n' "$(cut -d' ' -f1,2 "$W/host_key.pub")" >"$RV_TMP/known_hosts"
cat >"$W/sshd_config" <<EOF
ListenAddress 10.77.0.2
HostKey $W/host_key
PidFile none
AuthorizedKeysFile $W/authorized_keys
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitTunnel point-to-point
EOF
ip -n "$S" tuntap add dev tun7 mode tun
ip -n "$S" addr add 10.77.6.1 peer 10.77.6.2 dev tun7
ip -n "$S" link set tun7 up
ip netns exec "$S" unshare --mount --propagation private sh -c '
	mount -t tmpfs -o mode=755 rvssh-run /run && mkdir -m 755 /run/sshd || exit 1
	exec /usr/sbin/sshd -D -e -f "$1"' sh "$W/sshd_config" >"$W/sshd.log" 2>&1 &
RV_PIDS+=($!)
rv_wait_for 10 sh -c "ip netns exec $S ss -ltn | grep -q '10.77.0.2:22 '" ||
	{ echo "FAIL: sshd did not start"; cat "$W/sshd.log"; exit 1; }

# ---- roamvpnd with the recipe's exec tunnel --------------------------------------------
rv_corp_on_lan0
cat >"$RV_TMP/etc/tunnels/corp.conf" <<EOF
[Tunnel]
Backend=exec
[exec]
Start=$SSH -N -F none -i $RV_TMP/id_corp -o UserKnownHostsFile=$RV_TMP/known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes -o ExitOnForwardFailure=yes -o ServerAliveInterval=10 -w any:7 -o Tunnel=point-to-point -o PermitLocalCommand=yes "-o LocalCommand=exec env reason=connect TUNDEV=%T INTERNAL_IP4_ADDRESS=10.77.6.2 CISCO_SPLIT_INC=1 CISCO_SPLIT_INC_0_ADDR=10.77.2.0 CISCO_SPLIT_INC_0_MASKLEN=24 INTERNAL_IP4_DNS=10.77.2.53 \$ROAMVPN_HOOK" root@10.77.0.2
Report=hook
EOF
rv_check_accepts "the recipe"
rv_start_bus
ROAMVPN_HOOK_PATH=$HOOK rv_start_daemon "$C"
field() { rv_ctl_json tunnels | jq -r --arg f "$1" '.. | objects | select(.Name? == "corp") | .[$f]' | head -1; }

rv_link_up_tunnel_up "$C" 20 "ssh's LocalCommand reported through roamvpn-hook" || cat "$W/sshd.log"
dev=$(field Interface)
check "the tun device ssh opened is the tunnel's: '$dev'" sh -c "[ -n '$dev' ] && ip -n $C link show dev '$dev' >/dev/null"
check "address from the report on $dev" sh -c "ip -n $C -4 addr show dev '$dev' | grep -q 'inet 10.77.6.2/32'"
check "route 10.77.2.0/24 through $dev" sh -c "ip -n $C route show 10.77.2.0/24 | grep -q 'dev $dev'"
check "DNS server in resolv.conf" grep -q '^nameserver 10.77.2.53' "$RV_TMP/resolv.conf"
check "ping the host behind the gateway through the ssh tunnel" ip netns exec "$C" ping -c 2 -W 2 -i 0.3 10.77.2.1

ip -n "$C" link set lan0 down
check "tunnel down after link down" rv_wait_for 15 rv_tunnel_is corp down
check "ssh gone (its tun device too)" rv_wait_for 10 sh -c "! ip -n $C link show dev '$dev' >/dev/null 2>&1"
check "route removed" sh -c "! ip -n $C route show 10.77.2.0/24 | grep -q ."
check "resolv.conf restored byte for byte" cmp -s "$RV_TMP/resolv.conf" "$RV_TMP/resolv.conf.orig"

[ "$RV_FAILED" = 0 ] || { echo "---- daemon log"; tail -40 "$RV_TMP/daemon.log"; echo "---- sshd"; tail -20 "$W/sshd.log"; }
rv_summary
