/* validate.h - the one home of the checks for names and addresses that reach the
 * kernel, argv, file names or D-Bus paths: tunnel names, interface names, group
 * names, DNS domains, IP addresses and prefixes.
 *
 * Every reader (tunnel files, rules, roamvpn.conf, hook reports, DNS, D-Bus
 * callers) uses these, so a name valid in one place is valid in all of them.
 */
#pragma once

#include <stdbool.h>

#define RV_IFNAME_MAX_LEN 15	/* IFNAMSIZ - 1 */
#define RV_DOMAIN_MAX_LEN 253

/* A tunnel name: the file name of tunnels/NAME.conf, an interface name (wg-quick
 * names the device after the file), a D-Bus path label and an argument of
 * resolvconf -a NAME. 1-15 of A-Z a-z 0-9 _ . -, not starting with '-' (it would
 * read as an option) or '.' (hidden, ".."), and not "all" (Disconnect=all). */
bool rv_tunnel_name_valid(const char *name);

/* What the kernel accepts as an interface name (dev_valid_name: 1-15 bytes, not
 * "." or "..", no '/', ':' or white space), restricted to printable ASCII. */
bool rv_ifname_valid(const char *name);
/* Narrower: only A-Z a-z 0-9 _ - . (the names vpnc and pppd give: tunN, pppN). */
bool rv_ifname_plain(const char *name);

/* POSIX portable user/group name (what useradd accepts by default). */
bool rv_group_name_valid(const char *name);

/* A DNS name (search domain): 1-253 of letters, digits, '-', '_' and dots, not
 * starting with '.' or '-', no empty label. */
bool rv_domain_valid(const char *text);
/* A search domain, a routing-only domain "~example.com", or "~." / "." (everything). */
bool rv_routing_domain_valid(const char *text);

/* A host name or an IP address, nothing else: safe to hand to a program as one
 * argument (no leading '-', no blanks, no URL parts). */
bool rv_host_valid(const char *text);

/* An IPv4 or IPv6 address as text; *family (if non-NULL) gets AF_INET/AF_INET6. */
bool rv_ip_valid(const char *text, int *family);
bool rv_ipv4_valid(const char *text);
/* ADDRESS or ADDRESS/PREFIX (a host route without the prefix, as wg accepts). */
bool rv_cidr_valid(const char *text);
/* A WireGuard-style endpoint: HOST:PORT or [IPV6]:PORT (HOST a name or an IPv4
 * address). On false *why says what is wrong ("has no :PORT"); free it. */
bool rv_endpoint_valid(const char *text, char **why);
