/* ipsec.c - the ipsec backend plugin: IKEv2 with strongSwan, userspace ESP.
 *
 *   [Tunnel]
 *   Backend=ipsec
 *   [ipsec]
 *   Server=vpn.corp.example
 *   # EAP-MSCHAPv2, the server proves itself with a certificate from CACert=:
 *   Username=alice
 *   Password=alice-password
 *   CACert=/etc/roamvpn/corp-ca.pem
 *   # or a pre-shared key for both sides: PSK=...
 *   # optional: Identity= (ours), RemoteIdentity= (the server's; default Server=)
 *
 * Why charon and not charon-cmd: charon-cmd builds its CHILD_SA configuration
 * without an updown script, so nothing could report the virtual IP and DNS to
 * roamvpnd. The plugin runs strongSwan's charon in the foreground instead, with a
 * strongswan.conf of its own (STRONGSWAN_CONF) in a directory of the state
 * directory: kernel-libipsec (userspace ESP on a TUN device, ipsec0: no kernel ESP
 * needed), the virtual IP installed on that device, updown with dns_handler, vici on
 * a private socket, and a start script that loads a swanctl.conf whose child starts
 * at once with roamvpn-hook as its updown. The secrets are in that swanctl.conf
 * (0600, root's, hex-encoded so no quoting matters), which is removed as soon as
 * charon has loaded it (the tunnel is up) and on every other end of the run (failed,
 * stopped, never started), and rewritten at every start. The directory is the
 * daemon's state directory (where the hook's socket is), never /tmp: without it the
 * start fails.
 * Limits: charon keeps a fixed pid file (/var/run/charon.pid), so this does not run
 * beside another charon (a system strongSwan); client certificates are not done.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <gmodule.h>
#include <string.h>
#include <unistd.h>

#include "backend-program.h"
#include "error.h"
#include "hook-server.h"
#include "ini.h"
#include "validate.h"

#define CHARON_PROGRAM "/usr/lib/ipsec/charon"
#define SWANCTL_PROGRAM "swanctl"
/* kernel-libipsec's TUN device; one charon at a time (its pid file), so one device. */
#define IPSEC_DEVICE "ipsec0"
#define UP_TIMEOUT_S 60
#define SECRET_MAX 1024

struct ipsec_config {
	char *server, *identity, *remote_identity;
	char *psk, *username, *password;
	char *ca_cert;
	char *tunnel;		/* the tunnel's name: its directory in the state directory */
};

static void ipsec_free_config(void *data)
{
	struct ipsec_config *c = data;

	if (!c)
		return;
	g_free(c->server);
	g_free(c->identity);
	g_free(c->remote_identity);
	rv_secret_free(c->psk);
	g_free(c->username);
	rv_secret_free(c->password);
	g_free(c->ca_cert);
	g_free(c->tunnel);
	g_free(c);
}

static bool ipsec_config_equal(const void *a, const void *b)
{
	const struct ipsec_config *x = a, *y = b;

	return !g_strcmp0(x->server, y->server) && !g_strcmp0(x->identity, y->identity) &&
	       !g_strcmp0(x->remote_identity, y->remote_identity) && !g_strcmp0(x->psk, y->psk) &&
	       !g_strcmp0(x->username, y->username) && !g_strcmp0(x->password, y->password) &&
	       !g_strcmp0(x->ca_cert, y->ca_cert);
}

/* --- parsing ------------------------------------------------------------------ */

/* An IKE identity as swanctl.conf takes it unquoted: a name, an address, an e-mail
 * address; nothing that could end a value or open a section. */
static bool parse_identity(const struct rv_ini_value *v, void *field)
{
	if (!v->value[0] || strlen(v->value) > 255 ||
	    v->value[strspn(v->value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				      "0123456789@._:-")]) {
		rv_ini_bad_value(v, "is not an identity (letters, digits, '@', '.', '_', ':', '-')");
		return false;
	}
	return rv_ini_parse_string(v, field);
}

static bool parse_secret(const struct rv_ini_value *v, void *field)
{
	if (strlen(v->value) > SECRET_MAX) {
		rv_ini_bad_value(v, "is longer than %d bytes", SECRET_MAX);
		return false;
	}
	return rv_program_parse_line(v, field);
}

static bool parse_file(const struct rv_ini_value *v, void *field)
{
	if (!g_path_is_absolute(v->value) || !g_file_test(v->value, G_FILE_TEST_IS_REGULAR)) {
		rv_ini_bad_value(v, "is not an absolute path to a file");
		return false;
	}
	return rv_ini_parse_string(v, field);
}

#define KEY(key, parse, field, flags) \
	RV_INI_KEY("ipsec", key, parse, struct ipsec_config, field, RV_INI_ONCE | (flags), NULL)
static const struct rv_ini_key ipsec_keys[] = {
	KEY("Server", rv_program_parse_host, server, RV_INI_REQUIRED),
	KEY("Identity", parse_identity, identity, 0),
	KEY("RemoteIdentity", parse_identity, remote_identity, 0),
	KEY("PSK", parse_secret, psk, RV_INI_SECRET),
	KEY("Username", parse_identity, username, 0),
	KEY("Password", parse_secret, password, RV_INI_SECRET),
	KEY("CACert", parse_file, ca_cert, 0),
	RV_INI_KEYS_END
};
#undef KEY

static void *ipsec_parse(struct rv_tunnel_config *cfg, GPtrArray *errors)
{
	struct ipsec_config *c = g_new0(struct ipsec_config, 1);
	const struct rv_ini_section *s;
	bool ok = true;

	s = rv_program_parse_section(cfg, "ipsec",
				     "with Server= and PSK= or Username=, Password=, CACert=",
				     ipsec_keys, c, &ok, errors);
	if (!s) {
		ipsec_free_config(c);
		return NULL;
	}
	ok = rv_program_both_or_neither(cfg, s, "Username", "Password", errors) && ok;
	if (!rv_ini_find_entry(s, "PSK") == !rv_ini_find_entry(s, "Username")) {
		rv_ini_error(errors, cfg->path, s->line,
			     "[ipsec] needs PSK= or Username=/Password= (EAP-MSCHAPv2), one of them");
		ok = false;
	}
	if (rv_ini_find_entry(s, "Username") && !rv_ini_find_entry(s, "CACert")) {
		rv_ini_error(errors, cfg->path, s->line,
			     "[ipsec] with Username= needs CACert=: the server proves itself with a certificate");
		ok = false;
	}
	c->tunnel = g_strdup(cfg->name);
	if (!ok) {
		ipsec_free_config(c);
		return NULL;
	}
	return c;
}

/* IKEv2 (UDP 500), NAT-T (UDP 4500) and ESP to Server=. */
static void ipsec_servers(const void *config, const struct rv_tunnel_net *net, GPtrArray *out)
{
	const struct ipsec_config *c = config;

	(void)net;
	rv_server_add_ipsec(out, c->server, false);
}

static const char *ipsec_device(const struct rv_tunnel_config *cfg)
{
	return cfg->parsed ? IPSEC_DEVICE : NULL;
}

/* --- running ------------------------------------------------------------------- */

/* charon exits only on start-up errors; these name them. */
static const struct rv_failure_rule ipsec_failures[] = {
	{ -1, "charon already running", RV_FAILURE_OTHER,
	  "another strongSwan charon runs on this machine (/var/run/charon.pid); this plugin "
	  "cannot run beside it" },
	{ -1, "plugin 'kernel-libipsec' failed to load", RV_FAILURE_OTHER,
	  "strongSwan's kernel-libipsec is missing (package libcharon-extra-plugins)" },
};
/* What charon says and then keeps running: the connection has failed. */
static const struct rv_failure_rule ipsec_fatal_lines[] = {
	{ -1, "received AUTHENTICATION_FAILED", RV_FAILURE_AUTH,
	  "authentication failed: the server refused the credentials" },
	/* strongSwan 5.9.8 as the initiator, after a wrong EAP-MSCHAPv2 password: */
	{ -1, "ERROR_AUTHENTICATION_FAILURE", RV_FAILURE_AUTH,
	  "authentication failed: the server refused the username or password" },
	{ -1, "EAP_MSCHAPV2 method failed", RV_FAILURE_AUTH,
	  "authentication failed: the server refused the username or password" },
	{ -1, "constraint check failed", RV_FAILURE_REFUSED,
	  "the server's certificate is not for RemoteIdentity= (or not from CACert=)" },
	{ -1, "no trusted RSA public key found", RV_FAILURE_REFUSED,
	  "the server's certificate is not trusted (CACert=)" },
	{ -1, "no trusted ECDSA public key found", RV_FAILURE_REFUSED,
	  "the server's certificate is not trusted (CACert=)" },
	{ -1, "NO_PROPOSAL_CHOSEN", RV_FAILURE_REFUSED, "the server accepts none of the proposals" },
	{ -1, "establishing IKE_SA failed", RV_FAILURE_UNREACHABLE, "the server does not answer" },
	{ -1, "giving up after", RV_FAILURE_UNREACHABLE, "the server does not answer" },
};

static char *hex(const char *text)
{
	GString *out = g_string_new("0x");

	for (const char *p = text; *p; p++)
		g_string_append_printf(out, "%02x", (unsigned char)*p);
	return g_string_free(out, FALSE);
}

/* STATE/ipsec-NAME: next to the hook's socket, root's. NULL when the daemon has no
 * state directory (no hook server): the secrets never go to a shared /tmp. */
static char *state_dir(const char *tunnel)
{
	const char *sock = rv_hook_server_path();
	g_autofree char *base = sock ? g_path_get_dirname(sock) : NULL;

	return base ? g_strdup_printf("%s/ipsec-%s", base, tunnel) : NULL;
}

/* Removes the secrets file; every end of a run comes here (or to ipsec_up). */
static void remove_secrets(const struct ipsec_config *c)
{
	g_autofree char *dir = state_dir(c->tunnel);
	g_autofree char *swanctl = dir ? g_strdup_printf("%s/swanctl.conf", dir) : NULL;

	if (swanctl)
		g_unlink(swanctl);
}

static void ipsec_end(void *data)
{
	remove_secrets(data);
}

static bool write_file(const char *path, const char *text, GError **error)
{
	/* 0600 from the start: the swanctl.conf holds the secrets. */
	int fd = g_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	gsize len = strlen(text);
	bool ok;

	if (fd < 0) {
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "cannot write %s: %s", path, g_strerror(errno));
		return false;
	}
	ok = write(fd, text, len) == (gssize)len;
	close(fd);
	if (!ok)
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "cannot write %s", path);
	return ok;
}

static char *strongswan_conf(const char *dir, const char *swanctl)
{
	/* charon runs start-scripts through a shell: the words are our own paths. */
	g_autofree char *load = g_strdup_printf("%s --load-all --file %s/swanctl.conf --uri unix://%s/charon.vici",
						swanctl, dir, dir);

	return g_strdup_printf(
		"# written by roamvpnd's ipsec plugin for this tunnel; rewritten at every start\n"
		"charon {\n"
		"  load_modular = no\n"
		"  load = random nonce aes sha1 sha2 hmac gmp openssl pem pkcs1 pkcs8 x509 pubkey kdf "
		"constraints revocation kernel-libipsec kernel-netlink socket-default vici updown "
		"eap-mschapv2 eap-identity\n"
		"  install_virtual_ip = yes\n"
		"  install_virtual_ip_on = " IPSEC_DEVICE "\n"
		"  install_routes = yes\n"
		"  retransmit_tries = 3\n"
		"  filelog {\n    stderr {\n      default = 1\n      ike = 1\n      flush_line = yes\n    }\n  }\n"
		"  syslog {\n    daemon {\n      default = -1\n    }\n  }\n"
		"  plugins {\n"
		"    vici {\n      socket = unix://%s/charon.vici\n    }\n"
		"    updown {\n      dns_handler = yes\n    }\n"
		"  }\n"
		"  start-scripts {\n    load = %s\n  }\n"
		"}\n", dir, load);
}

static char *swanctl_conf(const struct ipsec_config *c, const char *updown)
{
	GString *s = g_string_new("# written by roamvpnd's ipsec plugin; removed once the tunnel is up\n");
	const char *remote_id = c->remote_identity ? c->remote_identity : c->server;
	g_autofree char *secret = hex(c->psk ? c->psk : c->password);

	g_string_append_printf(s, "connections {\n  roamvpn {\n    version = 2\n"
			       "    remote_addrs = %s\n    vips = 0.0.0.0\n", c->server);
	if (c->psk) {
		g_string_append(s, "    local {\n      auth = psk\n");
		if (c->identity)
			g_string_append_printf(s, "      id = %s\n", c->identity);
		g_string_append_printf(s, "    }\n    remote {\n      auth = psk\n      id = %s\n    }\n",
				       remote_id);
	} else {
		g_string_append_printf(s, "    local {\n      auth = eap-mschapv2\n      eap_id = %s\n",
				       c->username);
		if (c->identity)
			g_string_append_printf(s, "      id = %s\n", c->identity);
		g_string_append_printf(s, "    }\n    remote {\n      auth = pubkey\n      id = %s\n"
				       "      cacerts = %s\n    }\n", remote_id, c->ca_cert);
	}
	/* updown runs through /bin/sh -c with only PLUTO_* and PATH: the hook's socket
	 * is given on its command line, every word quoted. */
	g_string_append_printf(s, "    children {\n      roamvpn {\n        remote_ts = 0.0.0.0/0\n"
			       "        updown = %s\n        start_action = start\n      }\n    }\n"
			       "  }\n}\n", updown);
	if (c->psk)
		g_string_append_printf(s, "secrets {\n  ike-roamvpn {\n    id = %s\n    secret = %s\n  }\n}\n",
				       remote_id, secret);
	else
		g_string_append_printf(s, "secrets {\n  eap-roamvpn {\n    id = %s\n    secret = %s\n  }\n}\n",
				       c->username, secret);
	explicit_bzero(secret, strlen(secret));
	return g_string_free(s, FALSE);
}

/* The report names the outbound interface; the tunnel's device is libipsec's. The
 * secrets are loaded by now: their file goes. */
static void ipsec_up(struct rv_program *p, struct rv_tunnel_net *net, GHashTable *env, void *data)
{
	const struct ipsec_config *c = data;

	g_free(net->ifname);
	net->ifname = g_strdup(IPSEC_DEVICE);
	if (net->routes->len == 0)
		g_ptr_array_add(net->routes, g_strdup("0.0.0.0/0"));
	remove_secrets(c);
}

#define ARG(...) g_ptr_array_add(argv, g_strdup_printf(__VA_ARGS__))

static int ipsec_start(struct rv_tunnel *t, const void *config, const struct rv_link *trigger,
		       GError **error)
{
	const struct ipsec_config *c = config;
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *dir = NULL;
	g_autofree char *swanctl = rv_program_find(SWANCTL_PROGRAM);
	g_autofree char *conf = NULL, *conf_path = NULL, *swanctl_path = NULL;
	g_autofree char *env = NULL, *hook = NULL, *sock = NULL, *updown = NULL;
	g_autofree char *secrets = NULL;
	const char *socket = rv_hook_server_path();
	struct rv_program_spec spec = {
		.name = "charon",
		.rules = ipsec_failures,
		.n_rules = G_N_ELEMENTS(ipsec_failures),
		.fatal_lines = ipsec_fatal_lines,
		.n_fatal_lines = G_N_ELEMENTS(ipsec_fatal_lines),
		.up_timeout_s = UP_TIMEOUT_S,
		.on_up = ipsec_up,
		.on_end = ipsec_end,
		.user_data = (void *)config,
	};
	int ret;

	if (!c) {
		g_set_error(error, RV_ERROR, RV_ERROR_INVALID, "no [ipsec] configuration");
		return -EINVAL;
	}
	dir = state_dir(c->tunnel);
	if (!dir) {
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED,
			    "no state directory for strongSwan's files (roamvpnd's hook server is not running)");
		return -ENOENT;
	}
	if (!swanctl) {
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "swanctl is not installed (strongswan-swanctl)");
		return -ENOENT;
	}
	if (g_mkdir_with_parents(dir, 0700) < 0) {
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "cannot make %s: %s", dir, g_strerror(errno));
		return -errno;
	}
	env = rv_program_find("env");
	hook = g_shell_quote(rv_program_hook_path());
	sock = g_shell_quote(socket ? socket : "");
	updown = g_strdup_printf("%s ROAMVPN_HOOK_SOCKET=%s %s", env ? env : "/usr/bin/env", sock, hook);
	conf_path = g_strdup_printf("%s/strongswan.conf", dir);
	swanctl_path = g_strdup_printf("%s/swanctl.conf", dir);
	conf = strongswan_conf(dir, swanctl);
	secrets = swanctl_conf(c, updown);
	ret = write_file(conf_path, conf, error) && write_file(swanctl_path, secrets, error) ? 0 : -EIO;
	explicit_bzero(secrets, strlen(secrets));
	if (ret < 0) {
		g_unlink(swanctl_path);
		return ret;
	}
	ARG("env");
	ARG("STRONGSWAN_CONF=%s", conf_path);
	ARG(CHARON_PROGRAM);
	g_ptr_array_add(argv, NULL);
	spec.argv = (char **)argv->pdata;
	/* From here every end of the run removes the secrets (on_end), a failed start too. */
	return rv_program_start(t, trigger, &spec, error);
}

#undef ARG

static const char *const ipsec_programs[] = { CHARON_PROGRAM, SWANCTL_PROGRAM, NULL };

static const struct rv_backend ipsec_backend = {
	.name = "ipsec",
	.abi = RV_BACKEND_ABI,
	.parse = ipsec_parse,
	.free_config = ipsec_free_config,
	.config_equal = ipsec_config_equal,
	.device = ipsec_device,
	.start = ipsec_start,
	.stop = rv_program_stop,
	.programs = ipsec_programs,
	.servers = ipsec_servers,
};

G_MODULE_EXPORT void roamvpn_plugin_init(void);

G_MODULE_EXPORT void roamvpn_plugin_init(void)
{
	rv_backend_register(&ipsec_backend);
}
