#!/usr/bin/env python3
"""Turn the nl80211 messages recorded in a VM run into unit test fixtures.

wifi-events -r prints every nl80211 message that daemon/wifi.c parses as
"@@NLMSG KIND HEX" (see tests/vm/wifi-events.c). This picks one of each kind that
tests/unit/test-nl80211.c needs and writes the raw bytes, unchanged, to DATADIR:

  nl80211-connect-homenet.bin       CONNECT, open network, SSID in the request IEs
  nl80211-disconnect-local.bin      DISCONNECT, reason 3, by us
  nl80211-connect-securenet.bin     CONNECT to the WPA2 network with a wrong password
  nl80211-connect-hostile.bin       CONNECT to the network whose SSID is hostile bytes
  nl80211-disconnect-by-ap.bin      the DISCONNECT that follows (reason 15, by the AP)
  nl80211-scan-associated.bin       GET_SCAN dump entry whose BSS status is associated
  nl80211-scan-other.bin            GET_SCAN dump entry of another BSS (no status)
  nl80211-interface-station.bin     GET_INTERFACE reply for the station

Usage: extract-fixtures.py CONSOLE_LOG DATADIR
This is a development tool; the decoding here only names files, the parsing under
test is daemon/nl80211-parse.c.
"""
import struct
import sys

NL80211_CMD_NEW_INTERFACE = 7
NL80211_CMD_NEW_SCAN_RESULTS = 34
NL80211_CMD_CONNECT = 46
NL80211_CMD_DISCONNECT = 48
NL80211_ATTR_IFTYPE = 5
NL80211_ATTR_REASON_CODE = 54
NL80211_ATTR_REQ_IE = 77
NL80211_ATTR_DISCONNECTED_BY_AP = 71
NL80211_ATTR_BSS = 47
NL80211_BSS_STATUS = 9


def attrs(buf):
    out = {}
    pos = 0
    while pos + 4 <= len(buf):
        length, kind = struct.unpack_from("<HH", buf, pos)
        if length < 4 or pos + length > len(buf):
            break
        out[kind & 0x3FFF] = buf[pos + 4:pos + length]
        pos += (length + 3) & ~3
    return out


def ssid_of(ies):
    pos = 0
    while pos + 2 <= len(ies):
        eid, elen = ies[pos], ies[pos + 1]
        if pos + 2 + elen > len(ies):
            return None
        if eid == 0:
            return ies[pos + 2:pos + 2 + elen]
        pos += 2 + elen
    return None


def main():
    log, datadir = sys.argv[1], sys.argv[2]
    picked = {}
    for line in open(log, errors="replace"):
        fields = line.split()
        if len(fields) < 4 or fields[1] != "@@NLMSG":
            continue
        msg = bytes.fromhex(fields[3])
        cmd = msg[16]
        a = attrs(msg[20:])
        name = None
        if cmd == NL80211_CMD_CONNECT:
            ssid = ssid_of(a.get(NL80211_ATTR_REQ_IE, b"")) or b""
            if all(0x20 <= c < 0x7f for c in ssid) and ssid.isalnum():
                name = "connect-" + ssid.decode("ascii").lower()
            else:
                name = "connect-hostile"
        elif cmd == NL80211_CMD_DISCONNECT:
            name = "disconnect-by-ap" if NL80211_ATTR_DISCONNECTED_BY_AP in a else "disconnect-local"
        elif cmd == NL80211_CMD_NEW_SCAN_RESULTS and NL80211_ATTR_BSS in a:
            bss = attrs(a[NL80211_ATTR_BSS])
            name = "scan-associated" if NL80211_BSS_STATUS in bss else "scan-other"
        elif cmd == NL80211_CMD_NEW_INTERFACE:
            iftype = struct.unpack_from("<I", a.get(NL80211_ATTR_IFTYPE, b"\0\0\0\0"))[0]
            name = "interface-station" if iftype == 2 else None
        if name and name not in picked:
            picked[name] = msg
    wanted = ["connect-homenet", "disconnect-local", "connect-securenet", "connect-hostile",
              "disconnect-by-ap",
              "scan-associated", "scan-other", "interface-station"]
    missing = [w for w in wanted if w not in picked]
    for w in wanted:
        if w in picked:
            with open(f"{datadir}/nl80211-{w}.bin", "wb") as f:
                f.write(picked[w])
            print(f"nl80211-{w}.bin: {len(picked[w])} bytes")
    if missing:
        print("not recorded: " + " ".join(missing), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
