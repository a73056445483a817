/* nl80211-parse.c - nl80211 event, scan and interface messages to structs
 * (see nl80211-parse.h). No socket here, so the unit tests can run on recorded bytes.
 */
#include "config.h"

#include <errno.h>
#include <linux/nl80211.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <string.h>

#include "ie.h"
#include "nl80211-parse.h"

/* Only the attributes we read are constrained; libnl leaves the others alone.
 * minlen/maxlen make nla_parse reject a short MAC or a 33-byte SSID outright. */
static const struct nla_policy attr_policy[NL80211_ATTR_MAX + 1] = {
	[NL80211_ATTR_IFINDEX] = { .type = NLA_U32 },
	[NL80211_ATTR_IFTYPE] = { .type = NLA_U32 },
	[NL80211_ATTR_MAC] = { .type = NLA_UNSPEC, .minlen = 6, .maxlen = 6 },
	[NL80211_ATTR_SSID] = { .type = NLA_UNSPEC, .maxlen = RV_SSID_MAX_LEN },
	[NL80211_ATTR_STATUS_CODE] = { .type = NLA_U16 },
	[NL80211_ATTR_REASON_CODE] = { .type = NLA_U16 },
	[NL80211_ATTR_DISCONNECTED_BY_AP] = { .type = NLA_FLAG },
	[NL80211_ATTR_TIMED_OUT] = { .type = NLA_FLAG },
	[NL80211_ATTR_REQ_IE] = { .type = NLA_UNSPEC },
	[NL80211_ATTR_RESP_IE] = { .type = NLA_UNSPEC },
	[NL80211_ATTR_BSS] = { .type = NLA_NESTED },
};

static const struct nla_policy bss_policy[NL80211_BSS_MAX + 1] = {
	[NL80211_BSS_BSSID] = { .type = NLA_UNSPEC, .minlen = 6, .maxlen = 6 },
	[NL80211_BSS_STATUS] = { .type = NLA_U32 },
	[NL80211_BSS_INFORMATION_ELEMENTS] = { .type = NLA_UNSPEC },
	[NL80211_BSS_BEACON_IES] = { .type = NLA_UNSPEC },
};

static int parse_genl(const struct nlmsghdr *hdr, struct nlattr **tb, uint8_t *cmd)
{
	struct nlmsghdr *h = (struct nlmsghdr *)hdr;	/* libnl is not const-correct */

	if (!genlmsg_valid_hdr(h, 0))
		return -EINVAL;
	if (genlmsg_parse(h, 0, tb, NL80211_ATTR_MAX, attr_policy) < 0)
		return -EINVAL;
	*cmd = ((const struct genlmsghdr *)nlmsg_data(h))->cmd;
	return 0;
}

static int get_ifindex(struct nlattr **tb)
{
	uint32_t ifindex;

	if (!tb[NL80211_ATTR_IFINDEX])
		return -EINVAL;
	ifindex = nla_get_u32(tb[NL80211_ATTR_IFINDEX]);
	if (ifindex == 0 || ifindex > INT32_MAX)
		return -EINVAL;
	return (int)ifindex;
}

static bool ssid_from_ies(const struct nlattr *attr, uint8_t *ssid, size_t *ssid_len)
{
	const uint8_t *data;
	size_t len;

	if (!attr)
		return false;
	if (!rv_ie_find_ssid(nla_data(attr), (size_t)nla_len(attr), &data, &len))
		return false;
	memcpy(ssid, data, len);
	*ssid_len = len;
	return true;
}

int rv_nl80211_parse_event(const struct nlmsghdr *hdr, struct rv_wifi_event *event)
{
	struct nlattr *tb[NL80211_ATTR_MAX + 1];
	uint8_t cmd;
	int ifindex;

	memset(event, 0, sizeof(*event));
	if (parse_genl(hdr, tb, &cmd) < 0)
		return -EINVAL;
	switch (cmd) {
	case NL80211_CMD_CONNECT: event->type = RV_WIFI_EVENT_CONNECT; break;
	case NL80211_CMD_ROAM: event->type = RV_WIFI_EVENT_ROAM; break;
	case NL80211_CMD_DISCONNECT: event->type = RV_WIFI_EVENT_DISCONNECT; break;
	default: return -ENOENT;
	}
	ifindex = get_ifindex(tb);
	if (ifindex < 0)
		return ifindex;
	event->ifindex = ifindex;
	if (tb[NL80211_ATTR_MAC]) {
		memcpy(event->bssid, nla_data(tb[NL80211_ATTR_MAC]), 6);
		event->has_bssid = true;
	}
	if (tb[NL80211_ATTR_STATUS_CODE]) {
		event->status = nla_get_u16(tb[NL80211_ATTR_STATUS_CODE]);
		event->has_status = true;
	}
	event->timed_out = tb[NL80211_ATTR_TIMED_OUT] != NULL;
	if (tb[NL80211_ATTR_REASON_CODE]) {
		event->reason = nla_get_u16(tb[NL80211_ATTR_REASON_CODE]);
		event->has_reason = true;
	}
	event->by_ap = tb[NL80211_ATTR_DISCONNECTED_BY_AP] != NULL;
	if (event->type != RV_WIFI_EVENT_DISCONNECT)
		event->has_ssid = ssid_from_ies(tb[NL80211_ATTR_REQ_IE], event->ssid,
						&event->ssid_len);
	return 0;
}

int rv_nl80211_parse_bss(const struct nlmsghdr *hdr, struct rv_wifi_bss *bss)
{
	struct nlattr *tb[NL80211_ATTR_MAX + 1];
	struct nlattr *bss_tb[NL80211_BSS_MAX + 1];
	uint8_t cmd;

	memset(bss, 0, sizeof(*bss));
	if (parse_genl(hdr, tb, &cmd) < 0)
		return -EINVAL;
	if (cmd != NL80211_CMD_NEW_SCAN_RESULTS)
		return -ENOENT;
	if (!tb[NL80211_ATTR_BSS])
		return -EINVAL;
	if (nla_parse_nested(bss_tb, NL80211_BSS_MAX, tb[NL80211_ATTR_BSS], bss_policy) < 0)
		return -EINVAL;
	if (tb[NL80211_ATTR_IFINDEX]) {
		int ifindex = get_ifindex(tb);

		if (ifindex < 0)
			return ifindex;
		bss->ifindex = ifindex;
	}
	if (bss_tb[NL80211_BSS_BSSID]) {
		memcpy(bss->bssid, nla_data(bss_tb[NL80211_BSS_BSSID]), 6);
		bss->has_bssid = true;
	}
	if (bss_tb[NL80211_BSS_STATUS]) {
		bss->status = nla_get_u32(bss_tb[NL80211_BSS_STATUS]);
		bss->has_status = true;
	}
	/* Probe response IEs name a hidden network; its beacon only has an empty SSID. */
	bss->has_ssid = ssid_from_ies(bss_tb[NL80211_BSS_INFORMATION_ELEMENTS], bss->ssid,
				      &bss->ssid_len);
	if (!bss->has_ssid || bss->ssid_len == 0)
		bss->has_ssid = ssid_from_ies(bss_tb[NL80211_BSS_BEACON_IES], bss->ssid,
					      &bss->ssid_len);
	return 0;
}

int rv_nl80211_parse_iface(const struct nlmsghdr *hdr, struct rv_wifi_iface *iface)
{
	struct nlattr *tb[NL80211_ATTR_MAX + 1];
	uint8_t cmd;
	int ifindex;

	memset(iface, 0, sizeof(*iface));
	if (parse_genl(hdr, tb, &cmd) < 0)
		return -EINVAL;
	if (cmd != NL80211_CMD_NEW_INTERFACE)
		return -ENOENT;
	ifindex = get_ifindex(tb);
	if (ifindex < 0)
		return ifindex;
	iface->ifindex = ifindex;
	if (tb[NL80211_ATTR_IFTYPE]) {
		iface->iftype = nla_get_u32(tb[NL80211_ATTR_IFTYPE]);
		iface->has_iftype = true;
	}
	if (tb[NL80211_ATTR_SSID]) {
		iface->ssid_len = (size_t)nla_len(tb[NL80211_ATTR_SSID]);
		memcpy(iface->ssid, nla_data(tb[NL80211_ATTR_SSID]), iface->ssid_len);
		iface->has_ssid = true;
	}
	return 0;
}

/* A recorded buffer must hold exactly what its header claims, or more. */
static const struct nlmsghdr *whole_message(const void *buf, size_t len)
{
	const struct nlmsghdr *hdr = buf;

	if (!buf || len < NLMSG_HDRLEN || len > INT32_MAX)
		return NULL;
	if (!nlmsg_ok(hdr, (int)len))
		return NULL;
	return hdr;
}

int rv_nl80211_parse_event_bytes(const void *buf, size_t len, struct rv_wifi_event *event)
{
	const struct nlmsghdr *hdr = whole_message(buf, len);

	memset(event, 0, sizeof(*event));
	return hdr ? rv_nl80211_parse_event(hdr, event) : -EINVAL;
}

int rv_nl80211_parse_bss_bytes(const void *buf, size_t len, struct rv_wifi_bss *bss)
{
	const struct nlmsghdr *hdr = whole_message(buf, len);

	memset(bss, 0, sizeof(*bss));
	return hdr ? rv_nl80211_parse_bss(hdr, bss) : -EINVAL;
}

int rv_nl80211_parse_iface_bytes(const void *buf, size_t len, struct rv_wifi_iface *iface)
{
	const struct nlmsghdr *hdr = whole_message(buf, len);

	memset(iface, 0, sizeof(*iface));
	return hdr ? rv_nl80211_parse_iface(hdr, iface) : -EINVAL;
}

const char *rv_wifi_event_type_name(enum rv_wifi_event_type type)
{
	switch (type) {
	case RV_WIFI_EVENT_CONNECT: return "CONNECT";
	case RV_WIFI_EVENT_ROAM: return "ROAM";
	case RV_WIFI_EVENT_DISCONNECT: return "DISCONNECT";
	}
	return "?";
}
