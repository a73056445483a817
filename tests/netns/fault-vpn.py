#!/usr/bin/python3
# A fake VPN program for daemon-fault-injection: makes a (non-persistent) TUN device,
# reports it up through roamvpn-hook like vpnc's script would, and runs until ended.
# The device exists only while this process holds it, as with a real VPN client.
import fcntl, os, struct, subprocess, sys, time
TUNSETIFF = 0x400454ca
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000
dev = sys.argv[1]
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", dev.encode(), IFF_TUN | IFF_NO_PI))
open(os.path.join(sys.argv[2], "started.%d" % os.getpid()), "w").close()
env = dict(os.environ, reason="connect", TUNDEV=dev, INTERNAL_IP4_ADDRESS="10.200.0.2",
           INTERNAL_IP4_NETMASKLEN="32", INTERNAL_IP4_DNS="10.99.0.53",
           CISCO_DEF_DOMAIN="corp.example", CISCO_SPLIT_INC="1",
           CISCO_SPLIT_INC_0_ADDR="10.200.0.0", CISCO_SPLIT_INC_0_MASKLEN="16")
subprocess.run([os.environ["ROAMVPN_HOOK"]], env=env, check=False, timeout=10)
while True:
    time.sleep(1)
