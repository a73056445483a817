/* openconnect.c - the openconnect backend plugin: AnyConnect (ocserv), GlobalProtect,
 * Pulse, Juniper, Fortinet, F5 and Array SSL VPNs with openconnect.
 *
 *   [Tunnel]
 *   Backend=openconnect
 *   [openconnect]
 *   Server=vpn.corp.example          # HOST, HOST:PORT or https://HOST[:PORT][/PATH]
 *   Protocol=anyconnect              # nc, gp, pulse, f5, fortinet, array
 *   Username=alice
 *   Password=alice-password
 *   ServerCert=pin-sha256:BASE64=    # the server's key, when no CA vouches for it
 *
 * openconnect runs in the foreground (--non-inter) with roamvpn-hook as its script
 * (vpnc-script's environment, parsed like vpnc's report) and the device named after
 * the tunnel (--interface: [Tunnel] Interface=, else the tunnel's name). The password
 * reaches it on stdin (--passwd-on-stdin), never argv or the environment; openconnect
 * runs its script through /bin/sh, so the hook's path is quoted. Failures are named
 * from openconnect's messages.
 */
#include "config.h"

#include <errno.h>
#include <gmodule.h>
#include <string.h>

#include "backend-program.h"
#include "error.h"
#include "ini.h"
#include "validate.h"

#define OPENCONNECT_PROGRAM "openconnect"
#define UP_TIMEOUT_S 60
#define CREDENTIAL_MAX 1024

struct openconnect_config {
	char *server, *protocol, *username, *password, *server_cert;
	char *ifname;
};

static void openconnect_free_config(void *data)
{
	struct openconnect_config *c = data;

	if (!c)
		return;
	g_free(c->server);
	g_free(c->protocol);
	g_free(c->username);
	rv_secret_free(c->password);
	g_free(c->server_cert);
	g_free(c->ifname);
	g_free(c);
}

static bool openconnect_config_equal(const void *a, const void *b)
{
	const struct openconnect_config *x = a, *y = b;

	return !g_strcmp0(x->server, y->server) && !g_strcmp0(x->protocol, y->protocol) &&
	       !g_strcmp0(x->username, y->username) && !g_strcmp0(x->password, y->password) &&
	       !g_strcmp0(x->server_cert, y->server_cert) && !g_strcmp0(x->ifname, y->ifname);
}

/* --- parsing ------------------------------------------------------------------ */

static bool valid_port(const char *text)
{
	guint64 n;

	return g_ascii_string_to_unsigned(text, 10, 1, 65535, &n, NULL);
}

/* HOST, HOST:PORT or https://HOST[:PORT][/PATH]; the path in URL-safe characters
 * (an AnyConnect group URL). Never a leading '-': it is one argv word. */
static bool valid_server(const char *text)
{
	g_autofree char *host = NULL;
	const char *rest = text, *slash, *colon;

	if (g_str_has_prefix(rest, "https://"))
		rest += strlen("https://");
	slash = strchr(rest, '/');
	if (slash) {
		if (rest == text)
			return false;	/* a path only with https:// */
		for (const char *p = slash; *p; p++)
			if (!g_ascii_isalnum(*p) && !strchr("/._~-", *p))
				return false;
	}
	host = g_strndup(rest, slash ? (gsize)(slash - rest) : strlen(rest));
	colon = strrchr(host, ':');
	/* host:port, unless it is an IPv6 address (which has more than one colon). */
	if (colon && strchr(host, ':') == colon) {
		if (!valid_port(colon + 1))
			return false;
		host[colon - host] = '\0';
	}
	return rv_host_valid(host);
}

static bool parse_server(const struct rv_ini_value *v, void *field)
{
	if (!valid_server(v->value)) {
		rv_ini_bad_value(v, "is not HOST, HOST:PORT or https://HOST[:PORT][/PATH]");
		return false;
	}
	return rv_ini_parse_string(v, field);
}

static bool parse_credential(const struct rv_ini_value *v, void *field)
{
	if (strlen(v->value) > CREDENTIAL_MAX) {
		rv_ini_bad_value(v, "is longer than %d bytes", CREDENTIAL_MAX);
		return false;
	}
	return rv_program_parse_line(v, field);
}

/* openconnect's --servercert forms: pin-sha256:BASE64 of the key's SHA-256, or
 * sha256:/sha1: and the certificate's hash in hex. */
static const struct {
	const char *prefix;
	const char *alphabet;
	gsize min_len;
} cert_forms[] = {
	{ "pin-sha256:", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", 43 },
	{ "sha256:", "0123456789abcdefABCDEF", 64 },
	{ "sha1:", "0123456789abcdefABCDEF", 40 },
};

static bool parse_server_cert(const struct rv_ini_value *v, void *field)
{
	for (gsize i = 0; i < G_N_ELEMENTS(cert_forms); i++) {
		const char *rest;

		if (!g_str_has_prefix(v->value, cert_forms[i].prefix))
			continue;
		rest = v->value + strlen(cert_forms[i].prefix);
		if (strlen(rest) < cert_forms[i].min_len || rest[strspn(rest, cert_forms[i].alphabet)]) {
			rv_ini_bad_value(v, "is not a complete %sHASH", cert_forms[i].prefix);
			return false;
		}
		return rv_ini_parse_string(v, field);
	}
	rv_ini_bad_value(v, "is not pin-sha256:BASE64, sha256:HEX or sha1:HEX");
	return false;
}

/* openconnect 9's protocols (openconnect --list-protocols). */
static const char *const protocols[] = { "anyconnect", "nc", "gp", "pulse", "f5", "fortinet",
					 "array", NULL };

#define KEY(key, parse, field, flags, data) \
	RV_INI_KEY("openconnect", key, parse, struct openconnect_config, field, \
		   RV_INI_ONCE | (flags), data)
static const struct rv_ini_key openconnect_keys[] = {
	KEY("Server", parse_server, server, RV_INI_REQUIRED, NULL),
	KEY("Protocol", rv_ini_parse_choice, protocol, 0, protocols),
	KEY("Username", parse_credential, username, 0, NULL),
	KEY("Password", parse_credential, password, RV_INI_SECRET, NULL),
	KEY("ServerCert", parse_server_cert, server_cert, 0, NULL),
	RV_INI_KEYS_END
};
#undef KEY

static void *openconnect_parse(struct rv_tunnel_config *cfg, GPtrArray *errors)
{
	const struct rv_ini_section *s = NULL;
	struct openconnect_config *c = g_new0(struct openconnect_config, 1);
	bool ok = true;

	s = rv_program_parse_section(cfg, "openconnect", "with Server=", openconnect_keys, c, &ok,
				     errors);
	if (!s) {
		openconnect_free_config(c);
		return NULL;
	}
	ok = rv_program_both_or_neither(cfg, s, "Username", "Password", errors) && ok;
	c->ifname = g_strdup(cfg->interface ? cfg->interface : cfg->name);
	if (!ok) {
		openconnect_free_config(c);
		return NULL;
	}
	return c;
}

/* The HTTPS server (TCP, 443 unless Server= names a port) and its DTLS channel
 * (UDP, the same port). */
static void openconnect_servers(const void *config, const struct rv_tunnel_net *net, GPtrArray *out)
{
	const struct openconnect_config *c = config;
	g_autoptr(GUri) uri = NULL;
	g_autofree char *with_scheme = NULL;
	guint16 port;

	(void)net;
	if (!c->server)
		return;
	with_scheme = strstr(c->server, "://") ? g_strdup(c->server) : g_strdup_printf("https://%s", c->server);
	uri = g_uri_parse(with_scheme, G_URI_FLAGS_NONE, NULL);
	if (!uri || !g_uri_get_host(uri))
		return;
	port = g_uri_get_port(uri) > 0 ? (guint16)g_uri_get_port(uri) : 443;
	rv_server_add(out, g_uri_get_host(uri), RV_SERVER_TCP, port);
	rv_server_add(out, g_uri_get_host(uri), RV_SERVER_UDP, port);
}

static const char *openconnect_device(const struct rv_tunnel_config *cfg)
{
	const struct openconnect_config *c = cfg->parsed;

	return c ? c->ifname : NULL;
}

/* --- running ------------------------------------------------------------------- */

/* openconnect 9.01's messages -> what went wrong (it exits 1 for all of them). The
 * pin mismatch comes before "verify failed": a pinned server's self-signed
 * certificate also fails the CA check, and that alone is no failure. */
static const struct rv_failure_rule openconnect_failures[] = {
	{ -1, "Login failed", RV_FAILURE_AUTH,
	  "authentication failed: the server refused the username or password" },
	{ -1, "specified via --servercert match", RV_FAILURE_REFUSED,
	  "the server's certificate does not match ServerCert= (not the server you pinned)" },
	{ -1, "User input required in non-interactive mode", RV_FAILURE_AUTH,
	  "the server asks for more than Username= and Password= (another factor?)" },
	{ -1, "Failed to connect to", RV_FAILURE_UNREACHABLE, "the server does not answer" },
	{ -1, "getaddrinfo failed", RV_FAILURE_UNREACHABLE, "the server's name does not resolve" },
	{ -1, "Server certificate verify failed", RV_FAILURE_REFUSED,
	  "the server's certificate is not trusted (set ServerCert=pin-sha256:...)" },
};

#define ARG(...) g_ptr_array_add(argv, g_strdup_printf(__VA_ARGS__))

static int openconnect_start(struct rv_tunnel *t, const void *config,
			     const struct rv_link *trigger, GError **error)
{
	const struct openconnect_config *c = config;
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *hook = g_shell_quote(rv_program_hook_path());
	g_autoptr(rv_secret) input = NULL;
	struct rv_program_spec spec = {
		.name = OPENCONNECT_PROGRAM,
		.rules = openconnect_failures,
		.n_rules = G_N_ELEMENTS(openconnect_failures),
		.up_timeout_s = UP_TIMEOUT_S,
	};

	if (!c) {
		g_set_error(error, RV_ERROR, RV_ERROR_INVALID, "no [openconnect] configuration");
		return -EINVAL;
	}
	ARG(OPENCONNECT_PROGRAM);
	ARG("--non-inter");
	/* openconnect runs its script through /bin/sh -c: quoted. */
	ARG("--script=%s", hook);
	ARG("--interface=%s", c->ifname);
	if (c->protocol)
		ARG("--protocol=%s", c->protocol);
	if (c->server_cert)
		ARG("--servercert=%s", c->server_cert);
	if (c->username) {
		ARG("--user=%s", c->username);
		ARG("--passwd-on-stdin");
		input = g_strdup_printf("%s\n", c->password);
		spec.secret = input;
		spec.secret_len = strlen(input);
	}
	ARG("--");
	ARG("%s", c->server);
	g_ptr_array_add(argv, NULL);
	spec.argv = (char **)argv->pdata;
	return rv_program_start(t, trigger, &spec, error);
}

#undef ARG

static const char *const openconnect_programs[] = { OPENCONNECT_PROGRAM, NULL };

static const struct rv_backend openconnect_backend = {
	.name = "openconnect",
	.abi = RV_BACKEND_ABI,
	.parse = openconnect_parse,
	.free_config = openconnect_free_config,
	.config_equal = openconnect_config_equal,
	.device = openconnect_device,
	.start = openconnect_start,
	.stop = rv_program_stop,
	.programs = openconnect_programs,
	.servers = openconnect_servers,
};

G_MODULE_EXPORT void roamvpn_plugin_init(void);

G_MODULE_EXPORT void roamvpn_plugin_init(void)
{
	rv_backend_register(&openconnect_backend);
}
