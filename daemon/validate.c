/* validate.c - shared checks for names and addresses (see validate.h). */
#include "config.h"

#include <arpa/inet.h>
#include <glib.h>
#include <string.h>

#include "validate.h"

static bool name_chars_plain(const char *name)
{
	for (const char *c = name; *c; c++)
		if (!g_ascii_isalnum(*c) && *c != '_' && *c != '.' && *c != '-')
			return false;
	return true;
}

bool rv_tunnel_name_valid(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0 || len > RV_IFNAME_MAX_LEN || name[0] == '-' || name[0] == '.' ||
	    g_str_equal(name, "all"))
		return false;
	return name_chars_plain(name);
}

bool rv_ifname_valid(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0 || len > RV_IFNAME_MAX_LEN || g_str_equal(name, ".") || g_str_equal(name, ".."))
		return false;
	for (const char *c = name; *c; c++)
		if (*c == '/' || *c == ':' || g_ascii_isspace(*c) || !g_ascii_isprint(*c))
			return false;
	return true;
}

bool rv_ifname_plain(const char *name)
{
	return rv_ifname_valid(name) && name_chars_plain(name);
}

bool rv_group_name_valid(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0 || len > 32 || name[0] == '-')
		return false;
	return name_chars_plain(name);
}

bool rv_domain_valid(const char *text)
{
	size_t len = text ? strlen(text) : 0;

	if (len == 0 || len > RV_DOMAIN_MAX_LEN || text[0] == '.' || text[0] == '-' ||
	    strstr(text, ".."))
		return false;
	for (const char *c = text; *c; c++)
		if (!g_ascii_isalnum(*c) && *c != '-' && *c != '_' && *c != '.')
			return false;
	return true;
}

bool rv_routing_domain_valid(const char *text)
{
	if (text && text[0] == '~')
		text++;
	/* "." (or "~.") is the root: all names, as resolved's DNSDefaultRoute. */
	return (text && g_str_equal(text, ".")) || rv_domain_valid(text);
}

bool rv_ip_valid(const char *text, int *family)
{
	unsigned char buf[sizeof(struct in6_addr)];
	int f;

	if (!text)
		return false;
	if (inet_pton(AF_INET, text, buf) == 1)
		f = AF_INET;
	else if (inet_pton(AF_INET6, text, buf) == 1)
		f = AF_INET6;
	else
		return false;
	if (family)
		*family = f;
	return true;
}

bool rv_host_valid(const char *text)
{
	return rv_ip_valid(text, NULL) || rv_domain_valid(text);
}

bool rv_ipv4_valid(const char *text)
{
	int family;

	return rv_ip_valid(text, &family) && family == AF_INET;
}

bool rv_cidr_valid(const char *text)
{
	g_autofree char *addr = g_strdup(text);
	char *slash = addr ? strchr(addr, '/') : NULL;
	int family;
	guint64 prefix;

	if (slash)
		*slash = '\0';
	if (!rv_ip_valid(addr, &family))
		return false;
	if (!slash)
		return true;
	return g_ascii_string_to_unsigned(slash + 1, 10, 0, family == AF_INET ? 32 : 128,
					  &prefix, NULL);
}

/* HOST:PORT or [IPV6]:PORT, parsed by GUri as the authority of a URI. */
bool rv_endpoint_valid(const char *text, char **why)
{
	g_autofree char *uri = g_strconcat("udp://", text, NULL);
	g_autofree char *userinfo = NULL, *host = NULL, *path = NULL, *query = NULL, *fragment = NULL;
	int port = -1;
	int family;

	if (strchr(text, '@') || strchr(text, '/') || strchr(text, '?') || strchr(text, '#') ||
	    strchr(text, '%') ||
	    !g_uri_split(uri, G_URI_FLAGS_NON_DNS, NULL, &userinfo, &host, &port, &path, &query,
			 &fragment, NULL) ||
	    !host || host[0] == '\0' || (path && path[0])) {
		*why = g_strdup("is not HOST:PORT or [IPv6]:PORT");
		return false;
	}
	if (port < 0) {
		*why = g_strdup("has no :PORT");
		return false;
	}
	if (port < 1 || port > 65535) {
		*why = g_strdup("port must be 1 to 65535");
		return false;
	}
	if (text[0] != '[' && strchr(host, ':')) {
		*why = g_strdup("IPv6 endpoints are written [ADDRESS]:PORT");
		return false;
	}
	if (text[0] == '[' && (!rv_ip_valid(host, &family) || family != AF_INET6)) {
		*why = g_strdup("only an IPv6 address goes in [brackets]");
		return false;
	}
	if (text[0] != '[' && !rv_ip_valid(host, &family) && !rv_domain_valid(host)) {
		*why = g_strdup("is not a valid host name or address");
		return false;
	}
	return true;
}
