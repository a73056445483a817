/* test-dbus-service.c - net.roamvpn1 on a private dbus-daemon.
 *
 * The service (rv-dbus) runs against a tiny fake of the core (manager.h, link.h),
 * defined below, on a dbus-daemon of our own whose configuration <include>s the
 * real bus policy from data/. A second connection in the same process plays the
 * client; both are driven by the GLib main loop through dbus-mainloop.c, so these
 * tests also exercise the main loop integration. When run as root, a forked child
 * with uid 65534 checks that the policy lets others read but not mutate.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <linux/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dbus-interfaces.h"
#include "dbus-mainloop.h"
#include "dbus-service.h"
#include "error.h"
#include "events.h"
#include "link.h"
#include "manager.h"
#include "policy.h"
#include "tunnel.h"
#include "read-line.h"

/* --- fake core ----------------------------------------------------------------------- */

static const uint8_t hostile_ssid[] = { '"', ';', ' ', '$', '(', 0x00, 0xff, '\\', 'x', '\n' };

static GPtrArray *fake_links;	/* struct rv_link * */
static struct rv_decision *fake_decision;	/* what the policy decided for wlan0 */
static GPtrArray *fake_tunnels;	/* struct rv_tunnel * */
static bool fake_paused;
static char *last_call;

static struct rv_link *fake_link_new(int ifindex, const char *name, const char *type)
{
	struct rv_link *l = g_new0(struct rv_link, 1);

	l->ifindex = ifindex;
	l->name = g_strdup(name);
	l->type = g_strdup(type);
	l->addresses = g_ptr_array_new_with_free_func(g_free);
	return l;
}

static void fake_link_free(struct rv_link *l)
{
	g_free(l->name);
	g_free(l->type);
	g_free(l->kind);
	g_free(l->gateway);
	g_clear_pointer(&l->ssid, g_bytes_unref);
	g_ptr_array_unref(l->addresses);
	g_free(l);
}

static struct rv_tunnel *fake_tunnel_new(const char *name)
{
	struct rv_tunnel *t = g_new0(struct rv_tunnel, 1);

	t->name = g_strdup(name);
	t->state = RV_TUNNEL_DOWN;
	t->since = 1700000000000000;
	return t;
}

static void fake_tunnel_free(struct rv_tunnel *t)
{
	g_free(t->name);
	g_free(t->last_error);
	g_free(t->triggered_by);
	g_free(t);
}

static void fake_reset(void)
{
	struct rv_link *wlan, *eth;

	g_clear_pointer(&fake_links, g_ptr_array_unref);
	g_clear_pointer(&fake_tunnels, g_ptr_array_unref);
	fake_links = g_ptr_array_new_with_free_func((GDestroyNotify)fake_link_free);
	fake_tunnels = g_ptr_array_new_with_free_func((GDestroyNotify)fake_tunnel_free);

	eth = fake_link_new(2, "eth-0.1", "ether");
	eth->flags = IFF_UP;
	eth->carrier = true;
	eth->operstate = IF_OPER_UP;
	g_ptr_array_add(eth->addresses, g_strdup("192.0.2.10/24"));
	g_ptr_array_add(fake_links, eth);

	wlan = fake_link_new(3, "wlan0", "wlan");
	wlan->flags = IFF_UP | IFF_RUNNING;
	wlan->carrier = true;
	wlan->operstate = IF_OPER_UP;
	wlan->wifi_connected = true;
	wlan->ssid = g_bytes_new(hostile_ssid, sizeof(hostile_ssid));
	memcpy(wlan->bssid, (uint8_t[]){ 0x02, 0, 0, 0, 0, 0x01 }, 6);
	wlan->has_bssid = true;
	g_clear_pointer(&fake_decision, rv_decision_free);
	fake_decision = g_new0(struct rv_decision, 1);
	fake_decision->ifindex = wlan->ifindex;
	fake_decision->rule = g_strdup("50-untrusted-wifi");
	fake_decision->action = g_strdup("connect corp");
	fake_decision->verdicts = g_ptr_array_new();
	g_ptr_array_add(fake_links, wlan);

	g_ptr_array_add(fake_tunnels, fake_tunnel_new("corp"));
	fake_paused = false;
	g_clear_pointer(&last_call, g_free);
}

GPtrArray *rv_links_list(void)
{
	GPtrArray *copy = g_ptr_array_new();

	for (guint i = 0; i < fake_links->len; i++)
		g_ptr_array_add(copy, fake_links->pdata[i]);
	return copy;
}

struct rv_link *rv_links_lookup_index(int ifindex)
{
	for (guint i = 0; i < fake_links->len; i++) {
		struct rv_link *l = fake_links->pdata[i];

		if (l->ifindex == ifindex)
			return l;
	}
	return NULL;
}

struct rv_link *rv_links_lookup_name(const char *name)
{
	for (guint i = 0; i < fake_links->len; i++) {
		struct rv_link *l = fake_links->pdata[i];

		if (g_str_equal(l->name, name))
			return l;
	}
	return NULL;
}

GPtrArray *rv_manager_tunnels(void)
{
	GPtrArray *copy = g_ptr_array_new();

	for (guint i = 0; i < fake_tunnels->len; i++)
		g_ptr_array_add(copy, fake_tunnels->pdata[i]);
	return copy;
}

struct rv_tunnel *rv_manager_lookup_tunnel(const char *name)
{
	for (guint i = 0; i < fake_tunnels->len; i++) {
		struct rv_tunnel *t = fake_tunnels->pdata[i];

		if (g_str_equal(t->name, name))
			return t;
	}
	return NULL;
}

const char *rv_tunnel_state_name(enum rv_tunnel_state state)
{
	static const char *const names[] = { "down", "starting", "up", "stopping", "failed" };

	return state < G_N_ELEMENTS(names) ? names[state] : "unknown";
}

const char *rv_manager_state(void)
{
	return fake_paused ? "paused" : "running";
}

bool rv_manager_is_paused(void)
{
	return fake_paused;
}

const char *rv_manager_dns_method(void)
{
	return "file";
}

static gboolean fake_tunnel_comes_up(gpointer data)
{
	g_autofree char *name = data;
	struct rv_tunnel *t = rv_manager_lookup_tunnel(name);

	if (t && t->state == RV_TUNNEL_STARTING) {
		/* Tunnel "broken" fails the way a backend reports it. */
		if (g_str_equal(name, "broken")) {
			t->state = RV_TUNNEL_FAILED;
			g_free(t->last_error);
			t->last_error = g_strdup("vpnc exited with status 1");
		} else {
			t->state = RV_TUNNEL_UP;
		}
		rv_events_emit(RV_EVENT_TUNNEL_CHANGED, t);
	}
	return G_SOURCE_REMOVE;
}

static gboolean fake_tunnel_goes_down(gpointer data)
{
	g_autofree char *name = data;
	struct rv_tunnel *t = rv_manager_lookup_tunnel(name);

	if (t && t->state == RV_TUNNEL_STOPPING) {
		t->state = RV_TUNNEL_DOWN;
		rv_events_emit(RV_EVENT_TUNNEL_CHANGED, t);
	}
	return G_SOURCE_REMOVE;
}

int rv_manager_connect(const char *tunnel, GError **error)
{
	struct rv_tunnel *t = rv_manager_lookup_tunnel(tunnel);

	if (!t) {
		g_set_error(error, RV_ERROR, RV_ERROR_NOT_FOUND, "no tunnel '%s'", tunnel);
		return -ENOENT;
	}
	t->state = RV_TUNNEL_STARTING;
	g_free(t->triggered_by);
	t->triggered_by = g_strdup("manual");
	rv_events_emit(RV_EVENT_TUNNEL_CHANGED, t);
	/* "The backend reports up" a little later, as a real one would. */
	g_timeout_add(100, fake_tunnel_comes_up, g_strdup(tunnel));
	return 0;
}

int rv_manager_disconnect(const char *tunnel, GError **error)
{
	struct rv_tunnel *t = rv_manager_lookup_tunnel(tunnel);

	g_free(last_call);
	last_call = g_strdup_printf("disconnect %s", tunnel);
	if (t && t->state != RV_TUNNEL_DOWN) {
		t->state = RV_TUNNEL_STOPPING;
		rv_events_emit(RV_EVENT_TUNNEL_CHANGED, t);
		g_timeout_add(100, fake_tunnel_goes_down, g_strdup(tunnel));
	}
	return 0;
}

int rv_manager_reload(GError **error)
{
	g_set_error(error, RV_ERROR, RV_ERROR_INVALID,
		    "rules/50-x.rules:3: unknown key 'Foo'");
	return -EINVAL;
}

void rv_manager_pause(void)
{
	fake_paused = true;
	rv_events_emit(RV_EVENT_MANAGER_CHANGED, NULL);
}

void rv_manager_resume(void)
{
	fake_paused = false;
	rv_events_emit(RV_EVENT_MANAGER_CHANGED, NULL);
}

int rv_manager_hook(const char *event, const char *ifname, GError **error)
{
	g_free(last_call);
	last_call = g_strdup_printf("hook %s %s", event, ifname);
	return 0;
}

char *rv_manager_explain(const char *ifname, GError **error)
{
	if (ifname && !rv_links_lookup_name(ifname)) {
		g_set_error(error, RV_ERROR, RV_ERROR_NOT_FOUND, "no link '%s'", ifname);
		return NULL;
	}
	/* The third line's rule name holds an escape sequence (a file name is any bytes). */
	return g_strdup_printf("%s: 10-home: SSID excluded\n%s: 50-untrusted-wifi: matched\n"
			       "%s: 90-\033[2Jred: not reached\n",
			       ifname ? ifname : "wlan0", ifname ? ifname : "wlan0",
			       ifname ? ifname : "wlan0");
}

/* The kill switch is "closed" on wlan0, off elsewhere; no portal anywhere. */
const char *rv_manager_link_kill_switch(const char *ifname, char **reason)
{
	bool on = g_str_equal(ifname, "wlan0");

	if (reason)
		*reason = g_strdup(on ? "rule 50-cafe: KillSwitch=yes, Connect=corp" : "");
	return on ? "closed" : "";
}

const char *rv_manager_link_portal(const char *ifname, const char **location)
{
	if (location)
		*location = "";
	return "";
}

int rv_manager_open_portal(const char *ifname, GError **error)
{
	g_set_error(error, RV_ERROR, RV_ERROR_NOT_FOUND, "no captive portal found on %s", ifname);
	return -ENOENT;
}

const struct rv_decision *rv_manager_link_decision(int ifindex)
{
	return fake_decision && fake_decision->ifindex == ifindex ? fake_decision : NULL;
}

void rv_decision_free(struct rv_decision *d)
{
	g_free(d->rule);
	g_free(d->action);
	g_ptr_array_unref(d->verdicts);
	g_free(d);
}

static void verdict_free(struct rv_verdict *v)
{
	g_free(v->rule);
	g_free(v->reason);
	g_free(v);
}

GPtrArray *rv_manager_explain_link(const char *ifname, GError **error)
{
	GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)verdict_free);
	struct rv_verdict *v = g_new0(struct rv_verdict, 1);

	v->rule = g_strdup("10-home");
	v->reason = g_strdup("SSID is excluded by !HomeNet");
	g_ptr_array_add(list, v);
	v = g_new0(struct rv_verdict, 1);
	v->rule = g_strdup("50-untrusted-wifi");
	v->matched = true;
	g_ptr_array_add(list, v);
	return list;
}

/* --- private bus ------------------------------------------------------------------- */

static char *tmpdir;
static GPid bus_pid;
static char *bus_address;
static DBusConnection *service_conn, *client_conn;
static GPtrArray *signals;	/* DBusMessage * seen by the client */

/* If this test crashes, its bus must not outlive it. */
static void die_with_parent(gpointer user_data)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
}

static void start_bus(void)
{
	const char *build_root = g_getenv("ROAMVPN_BUILD_ROOT");
	g_autofree char *policy = NULL;
	g_autofree char *conf_path = NULL;
	g_autofree char *conf = NULL;
	g_autofree char *config_arg = NULL;
	g_autofree char *own_user = NULL;
	g_autoptr(GError) error = NULL;
	int out_fd;

	g_assert_nonnull(build_root);
	policy = g_build_filename(build_root, "data", "net.roamvpn1.conf", NULL);
	g_assert_true(g_file_test(policy, G_FILE_TEST_EXISTS));

	tmpdir = g_dir_make_tmp("roamvpn-dbus-XXXXXX", &error);
	g_assert_no_error(error);
	/* uid 65534 must reach the socket in here. */
	g_assert_cmpint(chmod(tmpdir, 0755), ==, 0);

	if (geteuid() != 0) {
		/* Not root: the policy gives us nothing, so let this user own the name
		 * and call, as the admin group could. Root is covered by the policy. */
		own_user = g_strdup_printf("  <policy user=\"%s\">\n"
					   "    <allow own=\"net.roamvpn1\"/>\n"
					   "    <allow send_destination=\"net.roamvpn1\"/>\n"
					   "  </policy>\n", g_get_user_name());
	}
	conf = g_strdup_printf(
		"<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN\"\n"
		" \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
		"<busconfig>\n"
		"  <listen>unix:path=%s/bus</listen>\n"
		"  <auth>EXTERNAL</auth>\n"
		/* The default policy of Debian's system.conf, so that the included
		 * file acts as it would on the system bus. */
		"  <policy context=\"default\">\n"
		"    <allow user=\"*\"/>\n"
		"    <deny own=\"*\"/>\n"
		"    <deny send_type=\"method_call\"/>\n"
		"    <allow send_type=\"signal\"/>\n"
		"    <allow send_requested_reply=\"true\" send_type=\"method_return\"/>\n"
		"    <allow send_requested_reply=\"true\" send_type=\"error\"/>\n"
		"    <allow receive_type=\"method_call\"/>\n"
		"    <allow receive_type=\"method_return\"/>\n"
		"    <allow receive_type=\"error\"/>\n"
		"    <allow receive_type=\"signal\"/>\n"
		"    <allow send_destination=\"org.freedesktop.DBus\"\n"
		"           send_interface=\"org.freedesktop.DBus\"/>\n"
		"    <allow send_destination=\"org.freedesktop.DBus\"\n"
		"           send_interface=\"org.freedesktop.DBus.Introspectable\"/>\n"
		"  </policy>\n"
		"%s"
		"  <include>%s</include>\n"
		/* The fake polkit of the polkit tests: root owns it, everyone may call it. */
		"  <policy user=\"root\">\n"
		"    <allow own=\"org.freedesktop.PolicyKit1\"/>\n"
		"  </policy>\n"
		"  <policy context=\"default\">\n"
		"    <allow send_destination=\"org.freedesktop.PolicyKit1\"/>\n"
		"  </policy>\n"
		/* A policy mistake for one user, so the daemon's own check shows. */
		"  <policy user=\"daemon\">\n"
		"    <allow send_destination=\"net.roamvpn1\"/>\n"
		"  </policy>\n"
		"</busconfig>\n", tmpdir, own_user ? own_user : "", policy);
	conf_path = g_build_filename(tmpdir, "bus.conf", NULL);
	g_assert_true(g_file_set_contents(conf_path, conf, -1, NULL));
	config_arg = g_strdup_printf("--config-file=%s", conf_path);

	g_assert_true(g_spawn_async_with_pipes(NULL,
		(char *[]){ "dbus-daemon", config_arg, "--nofork", "--print-address=1", NULL },
		NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD, die_with_parent, NULL, &bus_pid,
		NULL, &out_fd, NULL, &error));
	g_assert_no_error(error);
	bus_address = rv_test_read_line(out_fd, 10000);
	close(out_fd);
	g_assert_nonnull(bus_address);
}

static void stop_bus(void)
{
	g_autofree char *conf_path = g_build_filename(tmpdir, "bus.conf", NULL);
	g_autofree char *sock_path = g_build_filename(tmpdir, "bus", NULL);

	if (bus_pid > 0) {
		kill(bus_pid, SIGTERM);
		waitpid(bus_pid, NULL, 0);
		g_spawn_close_pid(bus_pid);
	}
	g_unlink(conf_path);
	g_unlink(sock_path);
	g_rmdir(tmpdir);
	g_free(tmpdir);
	g_free(bus_address);
}

static DBusHandlerResult client_filter(DBusConnection *conn, DBusMessage *msg, void *data)
{
	if (dbus_message_get_type(msg) == DBUS_MESSAGE_TYPE_SIGNAL &&
	    !dbus_message_has_interface(msg, DBUS_INTERFACE_DBUS) &&
	    !dbus_message_has_interface(msg, DBUS_INTERFACE_LOCAL))
		g_ptr_array_add(signals, dbus_message_ref(msg));
	return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
}

struct call_state {
	DBusMessage *reply;
	bool done;
};

static void call_done(DBusPendingCall *pending, void *user_data)
{
	struct call_state *st = user_data;

	st->reply = dbus_pending_call_steal_reply(pending);
	st->done = true;
}

static gboolean flag_timeout(gpointer user_data)
{
	*(bool *)user_data = true;
	return G_SOURCE_REMOVE;
}

/* Call method and run the main loop (so the service in this process answers) until
 * the reply comes. Returns the reply's arguments, or NULL with *error_name set. */
static GVariant *call_on(DBusConnection *conn, const char *path, const char *iface,
			 const char *method, GVariant *args, char **error_name)
{
	DBusMessage *msg = dbus_message_new_method_call(RV_DBUS_NAME, path, iface, method);
	DBusPendingCall *pending = NULL;
	struct call_state st = { NULL, false };
	bool timed_out = false;
	guint timer;
	GVariant *result = NULL;

	if (args) {
		g_variant_ref_sink(args);
		g_assert_true(rv_dbus_append_tuple(msg, args));
		g_variant_unref(args);
	}
	g_assert_true(dbus_connection_send_with_reply(conn, msg, &pending, 5000));
	dbus_message_unref(msg);
	g_assert_nonnull(pending);
	dbus_pending_call_set_notify(pending, call_done, &st, NULL);
	if (dbus_pending_call_get_completed(pending) && !st.done)
		call_done(pending, &st);
	timer = g_timeout_add(10000, flag_timeout, &timed_out);
	while (!st.done && !timed_out)
		g_main_context_iteration(NULL, TRUE);
	if (!timed_out)
		g_source_remove(timer);
	dbus_pending_call_unref(pending);
	g_assert_true(st.done);
	g_assert_nonnull(st.reply);

	if (dbus_message_get_type(st.reply) == DBUS_MESSAGE_TYPE_ERROR) {
		g_assert_nonnull(error_name);
		*error_name = g_strdup(dbus_message_get_error_name(st.reply));
	} else {
		result = rv_dbus_message_to_variant(st.reply);
		if (error_name)
			*error_name = NULL;
	}
	dbus_message_unref(st.reply);
	return result;
}

static GVariant *call(const char *path, const char *iface, const char *method, GVariant *args,
		      char **error_name)
{
	return call_on(client_conn, path, iface, method, args, error_name);
}

/* A round trip to the service: every signal it sent before has been dispatched after it. */
static void sync_with_service(void)
{
	g_autoptr(GVariant) r = call(RV_DBUS_PATH, "org.freedesktop.DBus.Properties", "GetAll",
				     g_variant_new("(s)", RV_DBUS_MANAGER_IFACE), NULL);

	g_assert_nonnull(r);
}

static void clear_signals(void)
{
	sync_with_service();
	g_ptr_array_set_size(signals, 0);
}

static guint count_signals(const char *path, const char *member)
{
	guint n = 0;

	for (guint i = 0; i < signals->len; i++) {
		DBusMessage *m = signals->pdata[i];

		if (g_str_equal(dbus_message_get_path(m), path) &&
		    g_str_equal(dbus_message_get_member(m), member))
			n++;
	}
	return n;
}

static DBusMessage *find_signal(const char *path, const char *member)
{
	for (guint i = 0; i < signals->len; i++) {
		DBusMessage *m = signals->pdata[i];

		if (g_str_equal(dbus_message_get_path(m), path) &&
		    g_str_equal(dbus_message_get_member(m), member))
			return m;
	}
	return NULL;
}

/* --- tests --------------------------------------------------------------------------- */

static void test_label_escape(void)
{
	static const char *const names[] = { "wlan0", "eth-0.1", "a_b", "", "caf\xc3\xa9 vpn",
					     "../x", "_2d", "a b;$(rm)" };

	for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree char *label = rv_dbus_label_escape(names[i]);
		g_autofree char *back = rv_dbus_label_unescape(label);
		g_autofree char *path = g_strconcat("/net/roamvpn1/tunnel/", label, NULL);

		g_assert_true(dbus_validate_path(path, NULL));
		g_assert_cmpstr(back, ==, names[i]);
	}
	{
		g_autofree char *a = rv_dbus_label_escape("wlan0");
		g_autofree char *b = rv_dbus_label_escape("eth-0.1");
		g_autofree char *c = rv_dbus_label_escape("a_b");
		g_autofree char *d = rv_dbus_label_escape("");

		g_assert_cmpstr(a, ==, "wlan0");
		g_assert_cmpstr(b, ==, "eth_2d0_2e1");
		g_assert_cmpstr(c, ==, "a_5fb");
		g_assert_cmpstr(d, ==, "_");
	}
	g_assert_null(rv_dbus_label_unescape("a_zz"));
	g_assert_null(rv_dbus_label_unescape("a_0"));
	g_assert_null(rv_dbus_label_unescape("a/b"));
	g_assert_null(rv_dbus_label_unescape("_00"));
}

static void test_variant_roundtrip(void)
{
	g_autoptr(GVariant) in = g_variant_ref_sink(g_variant_new_parsed(
		"({'SSID': <b\"\\\"; $(\">, 'Index': <int32 -3>, 'Since': <uint64 18446744073709551615>,"
		" 'Up': <true>, 'List': <['a', '']>, 'Paths': <[objectpath '/a', '/b']>,"
		" 'Empty': <@as []>, 'Nested': <<'x'>>},"
		" [('10-home', false, 'why'), ('50-x', true, '')], @ay [])"));
	g_autoptr(GVariant) ssid = g_variant_ref_sink(g_variant_new_fixed_array(
		G_VARIANT_TYPE_BYTE, hostile_ssid, sizeof(hostile_ssid), 1));
	g_autoptr(GVariant) in2 = g_variant_ref_sink(g_variant_new("(@ay)", ssid));
	GVariant *inputs[] = { in, in2 };

	for (gsize k = 0; k < G_N_ELEMENTS(inputs); k++) {
		DBusMessage *msg = dbus_message_new_signal("/a", "b.c", "D");
		g_autoptr(GVariant) out = NULL;

		g_assert_true(rv_dbus_append_tuple(msg, inputs[k]));
		out = rv_dbus_message_to_variant(msg);
		g_assert_nonnull(out);
		g_assert_true(g_variant_equal(out, inputs[k]));
		dbus_message_unref(msg);
	}
}

static void test_managed_objects(void)
{
	g_autoptr(GVariant) r = NULL;
	g_autoptr(GVariant) objects = NULL;
	g_autoptr(GVariant) link_ifaces = NULL;
	g_autoptr(GVariant) link_props = NULL;
	g_autoptr(GVariant) tunnel_ifaces = NULL;
	g_autoptr(GVariant) ssid = NULL;
	g_autofree char *err = NULL;
	const char *s;
	gsize n;
	const guint8 *bytes;

	fake_reset();
	r = call(RV_DBUS_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", NULL, &err);
	g_assert_cmpstr(err, ==, NULL);
	objects = g_variant_get_child_value(r, 0);
	g_assert_cmpuint(g_variant_n_children(objects), ==, 3);

	link_ifaces = g_variant_lookup_value(objects, "/net/roamvpn1/link/wlan0", NULL);
	g_assert_nonnull(link_ifaces);
	link_props = g_variant_lookup_value(link_ifaces, RV_DBUS_LINK_IFACE, NULL);
	g_assert_nonnull(link_props);
	ssid = g_variant_lookup_value(link_props, "SSID", G_VARIANT_TYPE_BYTESTRING);
	bytes = g_variant_get_fixed_array(ssid, &n, 1);
	g_assert_cmpmem(bytes, n, hostile_ssid, sizeof(hostile_ssid));
	g_assert_true(g_variant_lookup(link_props, "BSSID", "&s", &s));
	g_assert_cmpstr(s, ==, "02:00:00:00:00:01");
	g_assert_true(g_variant_lookup(link_props, "WifiState", "&s", &s));
	g_assert_cmpstr(s, ==, "associated");
	g_assert_true(g_variant_lookup(link_props, "MatchedRule", "&s", &s));
	g_assert_cmpstr(s, ==, "50-untrusted-wifi");

	/* The escaped name: '-' and '.' are not allowed in a path element. */
	g_assert_true(g_variant_lookup(objects, "/net/roamvpn1/link/eth_2d0_2e1", "@a{sa{sv}}", NULL));
	tunnel_ifaces = g_variant_lookup_value(objects, "/net/roamvpn1/tunnel/corp", NULL);
	g_assert_nonnull(tunnel_ifaces);
	g_assert_true(g_variant_lookup(tunnel_ifaces, RV_DBUS_TUNNEL_IFACE, "@a{sv}", NULL));
}

static void test_properties(void)
{
	g_autoptr(GVariant) r = NULL;
	g_autoptr(GVariant) all = NULL;
	g_autoptr(GVariant) v = NULL;
	g_autofree char *err = NULL;
	const char *s;
	gint32 index;

	fake_reset();
	r = call(RV_DBUS_PATH, "org.freedesktop.DBus.Properties", "Get",
		 g_variant_new("(ss)", RV_DBUS_MANAGER_IFACE, "DNSMethod"), &err);
	g_assert_cmpstr(err, ==, NULL);
	g_variant_get(r, "(v)", &v);
	g_assert_cmpstr(g_variant_get_string(v, NULL), ==, "file");
	g_clear_pointer(&r, g_variant_unref);

	r = call("/net/roamvpn1/link/eth_2d0_2e1", "org.freedesktop.DBus.Properties", "GetAll",
		 g_variant_new("(s)", RV_DBUS_LINK_IFACE), &err);
	g_assert_cmpstr(err, ==, NULL);
	all = g_variant_get_child_value(r, 0);
	g_assert_true(g_variant_lookup(all, "Name", "&s", &s));
	g_assert_cmpstr(s, ==, "eth-0.1");
	g_assert_true(g_variant_lookup(all, "Index", "i", &index));
	g_assert_cmpint(index, ==, 2);
	g_assert_true(g_variant_lookup(all, "OperState", "&s", &s));
	g_assert_cmpstr(s, ==, "up");
	g_assert_true(g_variant_lookup(all, "WifiState", "&s", &s));
	g_assert_cmpstr(s, ==, "");
	g_clear_pointer(&r, g_variant_unref);

	r = call(RV_DBUS_PATH, "org.freedesktop.DBus.Properties", "Get",
		 g_variant_new("(ss)", RV_DBUS_MANAGER_IFACE, "NoSuch"), &err);
	g_assert_null(r);
	g_assert_cmpstr(err, ==, DBUS_ERROR_UNKNOWN_PROPERTY);
	g_clear_pointer(&err, g_free);

	r = call(RV_DBUS_PATH, "org.freedesktop.DBus.Properties", "Set",
		 g_variant_new("(ssv)", RV_DBUS_MANAGER_IFACE, "Paused", g_variant_new_boolean(TRUE)),
		 &err);
	g_assert_null(r);
	g_assert_cmpstr(err, ==, DBUS_ERROR_PROPERTY_READ_ONLY);
	g_assert_false(fake_paused);
}

static void test_properties_changed(void)
{
	struct rv_tunnel *corp;
	DBusMessage *m;
	g_autoptr(GVariant) args = NULL;
	g_autoptr(GVariant) changed = NULL;
	g_autoptr(GVariant) invalidated = NULL;
	const char *iface, *s;

	fake_reset();
	corp = rv_manager_lookup_tunnel("corp");
	/* Bring the service's memory in line with the fresh fake. */
	rv_events_emit(RV_EVENT_TUNNEL_CHANGED, corp);
	clear_signals();

	/* An event without a change must not produce a signal. */
	rv_events_emit(RV_EVENT_TUNNEL_CHANGED, corp);
	sync_with_service();
	g_assert_cmpuint(count_signals("/net/roamvpn1/tunnel/corp", "PropertiesChanged"), ==, 0);

	corp->state = RV_TUNNEL_UP;
	g_free(corp->last_error);
	corp->last_error = g_strdup("auth \"failed\"");
	rv_events_emit(RV_EVENT_TUNNEL_CHANGED, corp);
	sync_with_service();
	g_assert_cmpuint(count_signals("/net/roamvpn1/tunnel/corp", "PropertiesChanged"), ==, 1);
	m = find_signal("/net/roamvpn1/tunnel/corp", "PropertiesChanged");
	g_assert_true(dbus_message_has_interface(m, "org.freedesktop.DBus.Properties"));
	args = rv_dbus_message_to_variant(m);
	g_variant_get(args, "(&s@a{sv}@as)", &iface, &changed, &invalidated);
	g_assert_cmpstr(iface, ==, RV_DBUS_TUNNEL_IFACE);
	/* Only what changed. */
	g_assert_cmpuint(g_variant_n_children(changed), ==, 2);
	g_assert_true(g_variant_lookup(changed, "State", "&s", &s));
	g_assert_cmpstr(s, ==, "up");
	g_assert_true(g_variant_lookup(changed, "LastError", "&s", &s));
	g_assert_cmpstr(s, ==, "auth \"failed\"");
	/* ... and a monitor Event naming the object. */
	m = find_signal(RV_DBUS_PATH, "Event");
	g_assert_nonnull(m);
	{
		g_autoptr(GVariant) ev = rv_dbus_message_to_variant(m);
		const char *kind, *object, *text;

		g_variant_get(ev, "(&s&s&s)", &kind, &object, &text);
		g_assert_cmpstr(kind, ==, "tunnel-changed");
		g_assert_cmpstr(object, ==, "/net/roamvpn1/tunnel/corp");
		g_assert_nonnull(strstr(text, "State=up"));
	}
}

/* Each Link property's "same" shortcut (dbus-table.h) agrees with building the
 * value: true for the value as it is, never true once the value differs. A wrong
 * one would silently drop a PropertiesChanged. */
static void check_same(const struct rv_link *l, GVariant **before)
{
	const struct rv_dbus_property *props = rv_dbus_link_iface.properties;

	for (guint i = 0; props[i].name; i++) {
		g_autoptr(GVariant) now = g_variant_ref_sink(props[i].get(l));

		if (!props[i].same)
			continue;
		/* An escaped name is left to building and comparing ("false"). */
		if (g_utf8_validate(l->name, -1, NULL) || !g_str_equal(props[i].name, "Name"))
			g_assert_true(props[i].same(l, now));
		if (before && !g_variant_equal(before[i], now))
			g_assert_false(props[i].same(l, before[i]));
	}
}

static void snapshot_link(const struct rv_link *l, GVariant **values)
{
	const struct rv_dbus_property *props = rv_dbus_link_iface.properties;

	for (guint i = 0; props[i].name; i++) {
		g_assert_cmpuint(i, <, 32);
		if (values[i])
			g_variant_unref(values[i]);
		values[i] = g_variant_ref_sink(props[i].get(l));
	}
}

static void test_link_property_same(void)
{
	GVariant *values[32] = { NULL };
	struct rv_link *l;

	fake_reset();
	for (guint i = 0; i < fake_links->len; i++)
		check_same(fake_links->pdata[i], NULL);
	l = fake_links->pdata[fake_links->len - 1];	/* wlan0: a decision and a kill switch */
	snapshot_link(l, values);
	l->carrier = !l->carrier;
	l->flags ^= IFF_UP;
	check_same(l, values);
	snapshot_link(l, values);
	l->operstate = IF_OPER_DORMANT;
	g_ptr_array_add(l->addresses, g_strdup("192.0.2.7/24"));
	check_same(l, values);
	snapshot_link(l, values);
	g_ptr_array_remove_index(l->addresses, 0);
	g_ptr_array_add(l->addresses, g_strdup("192.0.2.8/24"));
	g_free(l->gateway);
	l->gateway = g_strdup("192.0.2.1");
	g_free(l->kind);
	l->kind = g_strdup("veth");
	l->wifi_connected = !l->wifi_connected;
	check_same(l, values);
	snapshot_link(l, values);
	g_free(l->type);
	l->type = g_strdup("ether");	/* WifiState goes */
	g_clear_pointer(&fake_decision, rv_decision_free);	/* MatchedRule, Decision go */
	check_same(l, values);
	snapshot_link(l, values);
	g_free(l->name);
	l->name = g_strdup("wlan?1");	/* renamed, not UTF-8 (KillSwitch goes) */
	l->name[4] = (char)0xff;
	l->ifindex = 9;
	check_same(l, values);
	for (guint i = 0; i < G_N_ELEMENTS(values); i++)
		if (values[i])
			g_variant_unref(values[i]);
}

static void test_interfaces_added_removed(void)
{
	struct rv_link *l;
	DBusMessage *m;
	const char *path;
	g_autoptr(GVariant) args = NULL;
	g_autoptr(GVariant) ifaces = NULL;
	g_autoptr(GVariant) mgr = NULL;

	fake_reset();
	for (guint i = 0; i < fake_links->len; i++)
		rv_events_emit(RV_EVENT_LINK_CHANGED, fake_links->pdata[i]);
	clear_signals();

	l = fake_link_new(7, "ppp0", "ppp");
	g_ptr_array_add(fake_links, l);
	rv_events_emit(RV_EVENT_LINK_ADDED, l);
	sync_with_service();

	m = find_signal(RV_DBUS_PATH, "InterfacesAdded");
	g_assert_nonnull(m);
	args = rv_dbus_message_to_variant(m);
	g_variant_get(args, "(&o@a{sa{sv}})", &path, &ifaces);
	g_assert_cmpstr(path, ==, "/net/roamvpn1/link/ppp0");
	g_assert_true(g_variant_lookup(ifaces, RV_DBUS_LINK_IFACE, "@a{sv}", NULL));
	/* The manager's Links changed with it. */
	m = find_signal(RV_DBUS_PATH, "PropertiesChanged");
	g_assert_nonnull(m);
	mgr = rv_dbus_message_to_variant(m);
	{
		g_autoptr(GVariant) changed = g_variant_get_child_value(mgr, 1);
		g_autoptr(GVariant) links = g_variant_lookup_value(changed, "Links", NULL);

		g_assert_nonnull(links);
		g_assert_cmpuint(g_variant_n_children(links), ==, 3);
	}
	g_clear_pointer(&args, g_variant_unref);
	g_clear_pointer(&ifaces, g_variant_unref);
	clear_signals();

	/* A rename moves the object: removed under the old path, added under the new. */
	g_free(l->name);
	l->name = g_strdup("ppp-1");
	rv_events_emit(RV_EVENT_LINK_CHANGED, l);
	sync_with_service();
	m = find_signal(RV_DBUS_PATH, "InterfacesRemoved");
	g_assert_nonnull(m);
	args = rv_dbus_message_to_variant(m);
	g_variant_get(args, "(&o@as)", &path, &ifaces);
	g_assert_cmpstr(path, ==, "/net/roamvpn1/link/ppp0");
	g_clear_pointer(&args, g_variant_unref);
	g_clear_pointer(&ifaces, g_variant_unref);
	m = find_signal(RV_DBUS_PATH, "InterfacesAdded");
	g_assert_nonnull(m);
	args = rv_dbus_message_to_variant(m);
	g_variant_get(args, "(&o@a{sa{sv}})", &path, &ifaces);
	g_assert_cmpstr(path, ==, "/net/roamvpn1/link/ppp_2d1");
	g_clear_pointer(&args, g_variant_unref);
	g_clear_pointer(&ifaces, g_variant_unref);
	clear_signals();

	rv_events_emit(RV_EVENT_LINK_REMOVED, l);
	g_ptr_array_remove(fake_links, l);
	sync_with_service();
	m = find_signal(RV_DBUS_PATH, "InterfacesRemoved");
	g_assert_nonnull(m);
	args = rv_dbus_message_to_variant(m);
	g_variant_get(args, "(&o@as)", &path, &ifaces);
	g_assert_cmpstr(path, ==, "/net/roamvpn1/link/ppp_2d1");
}

static void test_methods_and_errors(void)
{
	g_autoptr(GVariant) r = NULL;
	g_autofree char *err = NULL;

	fake_reset();
	r = call(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, "Connect", g_variant_new("(s)", "nope"), &err);
	g_assert_null(r);
	g_assert_cmpstr(err, ==, "net.roamvpn1.Error.NotFound");
	g_clear_pointer(&err, g_free);

	r = call(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, "Connect", g_variant_new("(i)", 3), &err);
	g_assert_null(r);
	g_assert_cmpstr(err, ==, DBUS_ERROR_INVALID_ARGS);
	g_clear_pointer(&err, g_free);

	r = call(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, "Reload", NULL, &err);
	g_assert_null(r);
	g_assert_cmpstr(err, ==, "net.roamvpn1.Error.InvalidArguments");
	g_clear_pointer(&err, g_free);

	r = call("/net/roamvpn1/tunnel/nope", "org.freedesktop.DBus.Properties", "GetAll",
		 g_variant_new("(s)", RV_DBUS_TUNNEL_IFACE), &err);
	g_assert_null(r);
	g_assert_cmpstr(err, ==, DBUS_ERROR_UNKNOWN_OBJECT);
	g_clear_pointer(&err, g_free);

	r = call(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, "Frobnicate", NULL, &err);
	g_assert_null(r);
	g_assert_cmpstr(err, ==, DBUS_ERROR_UNKNOWN_METHOD);
	g_clear_pointer(&err, g_free);

	r = call(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, "Connect", g_variant_new("(s)", "corp"), &err);
	g_assert_cmpstr(err, ==, NULL);
	{
		struct rv_tunnel *corp = rv_manager_lookup_tunnel("corp");

		g_assert_nonnull(corp);
		g_assert_cmpint(corp ? (int)corp->state : -1, ==, RV_TUNNEL_STARTING);
	}
	g_clear_pointer(&r, g_variant_unref);

	r = call(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, "Hook",
		 g_variant_new("(ss)", "postup", "wlan0"), &err);
	g_assert_cmpstr(err, ==, NULL);
	g_assert_cmpstr(last_call, ==, "hook postup wlan0");
	g_clear_pointer(&r, g_variant_unref);

	r = call(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, "Pause", NULL, &err);
	g_assert_cmpstr(err, ==, NULL);
	g_assert_true(fake_paused);
}

static void test_explain(void)
{
	g_autoptr(GVariant) r = NULL;
	g_autoptr(GVariant) verdicts = NULL;
	g_autofree char *err = NULL;
	const char *text, *id, *reason;
	gboolean matched;

	fake_reset();
	r = call(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, "Explain", g_variant_new("(s)", "wlan0"), &err);
	g_assert_cmpstr(err, ==, NULL);
	g_variant_get(r, "(&s@a(sbs))", &text, &verdicts);
	g_assert_nonnull(strstr(text, "50-untrusted-wifi"));
	g_assert_cmpuint(g_variant_n_children(verdicts), ==, 2);
	g_variant_get_child(verdicts, 0, "(&sb&s)", &id, &matched, &reason);
	g_assert_cmpstr(id, ==, "10-home");
	g_assert_false(matched);
	g_assert_cmpstr(reason, ==, "SSID is excluded by !HomeNet");
	g_variant_get_child(verdicts, 1, "(&sb&s)", &id, &matched, &reason);
	g_assert_cmpstr(id, ==, "50-untrusted-wifi");
	g_assert_true(matched);
	g_clear_pointer(&r, g_variant_unref);

	r = call(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, "Explain", g_variant_new("(s)", "nope0"), &err);
	g_assert_null(r);
	g_assert_cmpstr(err, ==, "net.roamvpn1.Error.NotFound");
}

/* The <interface name="iface"> element of xml with whitespace between tags removed. */
static char *interface_element(const char *xml, const char *iface)
{
	g_autofree char *open = g_strdup_printf("<interface name=\"%s\">", iface);
	const char *start = strstr(xml, open);
	const char *end = start ? strstr(start, "</interface>") : NULL;
	g_autofree char *element = NULL;
	g_autoptr(GRegex) between = g_regex_new(">\\s+<", 0, 0, NULL);

	if (!end)
		return NULL;
	element = g_strndup(start, (gsize)(end - start) + strlen("</interface>"));
	return g_regex_replace_literal(between, element, -1, 0, "><", 0, NULL);
}

static void test_introspection_matches_data(void)
{
	static const struct { const char *iface, *path, *file; } cases[] = {
		{ RV_DBUS_MANAGER_IFACE, RV_DBUS_PATH, "net.roamvpn1.Manager.xml" },
		{ RV_DBUS_TUNNEL_IFACE, "/net/roamvpn1/tunnel/corp", "net.roamvpn1.Tunnel.xml" },
		{ RV_DBUS_LINK_IFACE, "/net/roamvpn1/link/wlan0", "net.roamvpn1.Link.xml" },
	};
	/* The installed XML, written at build time from the tables by dbus-xml. */
	const char *build = g_getenv("ROAMVPN_BUILD_ROOT");

	g_assert_nonnull(build);
	fake_reset();
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *file = g_build_filename(build, "data", cases[i].file, NULL);
		g_autofree char *contents = NULL;
		g_autoptr(GVariant) r = NULL;
		g_autofree char *err = NULL;
		const char *xml;
		g_autofree char *from_bus = NULL;
		g_autofree char *from_file = NULL;

		g_assert_true(g_file_get_contents(file, &contents, NULL, NULL));
		r = call(cases[i].path, "org.freedesktop.DBus.Introspectable", "Introspect", NULL, &err);
		g_assert_cmpstr(err, ==, NULL);
		g_variant_get(r, "(&s)", &xml);
		from_bus = interface_element(xml, cases[i].iface);
		from_file = interface_element(contents, cases[i].iface);
		g_assert_nonnull(from_bus);
		g_assert_nonnull(from_file);
		g_assert_cmpstr(from_bus, ==, from_file);
		if (i == 0) {
			g_assert_nonnull(strstr(xml, "org.freedesktop.DBus.ObjectManager"));
			g_assert_nonnull(strstr(xml, "<node name=\"tunnel\"/>"));
		}
	}
	/* The tunnel directory lists its children by escaped name. */
	{
		g_autofree char *err = NULL;
		g_autoptr(GVariant) r = call("/net/roamvpn1/link", "org.freedesktop.DBus.Introspectable",
					     "Introspect", NULL, &err);
		const char *xml;

		g_assert_cmpstr(err, ==, NULL);
		g_variant_get(r, "(&s)", &xml);
		g_assert_nonnull(strstr(xml, "<node name=\"eth_2d0_2e1\"/>"));
	}
}

/* --- roamvpnctl against the service ---------------------------------------------------- */

struct ctl_run {
	gint status;
	bool exited;
};

static void ctl_exited(GPid pid, gint status, gpointer user_data)
{
	struct ctl_run *run = user_data;

	run->status = status;
	run->exited = true;
	g_spawn_close_pid(pid);
}

static char *slurp_fd(int fd)
{
	GString *out = g_string_new(NULL);
	char buf[4096];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		g_string_append_len(out, buf, n);
	close(fd);
	return g_string_free(out, FALSE);
}

/* Run roamvpnctl --bus OUR_BUS args... while our main loop serves it; returns the
 * exit code, *out gets stdout. Output is small, so the pipe cannot fill up. */
static int run_ctl(char **out, const char *bus, ...)
{
	g_autofree char *ctl = g_build_filename(g_getenv("ROAMVPN_BUILD_ROOT"), "client",
						"roamvpnctl", NULL);
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	struct ctl_run run = { -1, false };
	bool timed_out = false;
	guint timer;
	GPid pid;
	int out_fd;
	va_list ap;
	const char *arg;

	g_ptr_array_add(argv, ctl);
	g_ptr_array_add(argv, "--bus");
	g_ptr_array_add(argv, (char *)(bus ? bus : bus_address));
	va_start(ap, bus);
	while ((arg = va_arg(ap, const char *)))
		g_ptr_array_add(argv, (char *)arg);
	va_end(ap);
	g_ptr_array_add(argv, NULL);

	g_assert_true(g_spawn_async_with_pipes(NULL, (char **)argv->pdata, NULL,
					       G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, NULL,
					       &out_fd, NULL, &error));
	g_assert_no_error(error);
	g_child_watch_add(pid, ctl_exited, &run);
	timer = g_timeout_add(15000, flag_timeout, &timed_out);
	while (!run.exited && !timed_out)
		g_main_context_iteration(NULL, TRUE);
	if (timed_out) {
		kill(pid, SIGKILL);
		g_assert_not_reached();
	}
	g_source_remove(timer);
	*out = slurp_fd(out_fd);
	g_assert_true(WIFEXITED(run.status));
	return WEXITSTATUS(run.status);
}

static void assert_valid_json(const char *text)
{
	g_autofree char *python = g_find_program_in_path("python3");
	g_autoptr(GError) error = NULL;
	g_autofree char *path = NULL;
	gint status = -1;
	int fd;

	if (!python)
		return;
	fd = g_file_open_tmp("roamvpn-json-XXXXXX", &path, &error);
	g_assert_no_error(error);
	g_assert_true(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	g_assert_true(g_spawn_sync(NULL, (char *[]){ python, "-c",
		"import json,sys\nfor line in open(sys.argv[1], encoding='utf-8'):\n json.loads(line)",
		path, NULL }, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status, &error));
	g_unlink(path);
	g_assert_no_error(error);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

static void test_ctl_status_json(void)
{
	g_autofree char *out = NULL;

	fake_reset();
	g_assert_cmpint(run_ctl(&out, NULL, "--json", "status", NULL), ==, 0);
	assert_valid_json(out);
	g_assert_nonnull(strstr(out, "\"State\":\"running\""));
	g_assert_nonnull(strstr(out, "\"Name\":\"corp\""));
	g_assert_nonnull(strstr(out, "\"Path\":\"/net/roamvpn1/link/eth_2d0_2e1\""));
	/* The hostile SSID, escaped, inside a JSON string. */
	g_assert_nonnull(strstr(out, "\"SSID\":\"\\\\x22; $(\\\\x00\\\\xff\\\\x5cx\\\\x0a\""));
	g_clear_pointer(&out, g_free);

	/* Human output prints the escaped SSID, never the raw bytes. */
	g_assert_cmpint(run_ctl(&out, NULL, "links", NULL), ==, 0);
	g_assert_nonnull(strstr(out, "SSID \"\\x22; $(\\x00\\xff\\x5cx\\x0a\""));
	g_assert_null(strchr(out, '\xff'));
}

/* status is a summary: links that nothing touches (up, but only a link-local
 * address: a container's veth) stay out of it and are counted; links lists them. */
static void test_ctl_status_summary(void)
{
	g_autofree char *out = NULL;
	struct rv_link *veth;

	fake_reset();
	veth = fake_link_new(7, "veth9", "ether");
	veth->flags = IFF_UP;
	veth->carrier = true;
	veth->operstate = IF_OPER_UP;
	g_ptr_array_add(veth->addresses, g_strdup("fe80::1/64"));
	g_ptr_array_add(fake_links, veth);

	g_assert_cmpint(run_ctl(&out, NULL, "--json", "status", NULL), ==, 0);
	assert_valid_json(out);
	g_assert_nonnull(strstr(out, "\"Name\":\"eth-0.1\""));
	g_assert_nonnull(strstr(out, "\"Name\":\"wlan0\""));
	g_assert_null(strstr(out, "veth9"));
	g_clear_pointer(&out, g_free);

	g_assert_cmpint(run_ctl(&out, NULL, "status", NULL), ==, 0);
	g_assert_null(strstr(out, "veth9"));
	g_assert_nonnull(strstr(out, "1 other link without"));
	g_clear_pointer(&out, g_free);

	g_assert_cmpint(run_ctl(&out, NULL, "links", NULL), ==, 0);
	g_assert_nonnull(strstr(out, "veth9"));
	g_clear_pointer(&out, g_free);

	/* A rule's decision brings it into the summary. */
	fake_decision->ifindex = veth->ifindex;
	g_assert_cmpint(run_ctl(&out, NULL, "status", NULL), ==, 0);
	g_assert_nonnull(strstr(out, "veth9"));
	g_assert_null(strstr(out, "other link"));
	fake_reset();
}

static void test_ctl_commands(void)
{
	g_autofree char *out = NULL;
	g_autofree char *nobus = g_strdup_printf("unix:path=%s/no-such-bus", tmpdir);
	struct rv_tunnel *corp;

	fake_reset();
	g_assert_cmpint(run_ctl(&out, NULL, "up", "corp", "--wait", "--timeout", "5", NULL), ==, 0);
	corp = rv_manager_lookup_tunnel("corp");
	g_assert_nonnull(corp);
	g_assert_cmpint(corp ? (int)corp->state : -1, ==, RV_TUNNEL_UP);
	g_clear_pointer(&out, g_free);

	g_assert_cmpint(run_ctl(&out, NULL, "--json", "down", "corp", "--wait", NULL), ==, 0);
	assert_valid_json(out);
	g_assert_nonnull(strstr(out, "\"State\":\"down\""));
	g_assert_cmpint(corp ? (int)corp->state : -1, ==, RV_TUNNEL_DOWN);
	g_clear_pointer(&out, g_free);

	/* --wait reports a failure as one: exit 1. */
	g_ptr_array_add(fake_tunnels, fake_tunnel_new("broken"));
	g_assert_cmpint(run_ctl(&out, NULL, "up", "broken", "--wait", "--timeout", "5", NULL), ==, 1);
	g_clear_pointer(&out, g_free);

	g_assert_cmpint(run_ctl(&out, NULL, "up", "nope", NULL), ==, 1);
	g_clear_pointer(&out, g_free);

	g_assert_cmpint(run_ctl(&out, NULL, "hook", "predown", "wlan0", NULL), ==, 0);
	g_assert_cmpstr(last_call, ==, "hook predown wlan0");
	g_clear_pointer(&out, g_free);

	g_assert_cmpint(run_ctl(&out, NULL, "explain", "wlan0", NULL), ==, 0);
	g_assert_nonnull(strstr(out, "50-untrusted-wifi"));
	/* No control character from the daemon's text reaches the terminal; lines stay. */
	g_assert_null(strchr(out, '\033'));
	g_assert_nonnull(strstr(out, "matched\nwlan0: 90-?[2Jred: not reached\n"));
	g_clear_pointer(&out, g_free);

	g_assert_cmpint(run_ctl(&out, NULL, "--json", "explain", "wlan0", NULL), ==, 0);
	assert_valid_json(out);
	g_assert_nonnull(strstr(out, "{\"Rule\":\"10-home\",\"Matched\":false,"));
	g_clear_pointer(&out, g_free);

	g_assert_cmpint(run_ctl(&out, NULL, "reload", NULL), ==, 1);
	g_clear_pointer(&out, g_free);
	g_assert_cmpint(run_ctl(&out, NULL, "pause", "now", NULL), ==, 2);
	g_clear_pointer(&out, g_free);
	g_assert_cmpint(run_ctl(&out, NULL, "hook", "sideways", "wlan0", NULL), ==, 2);
	g_clear_pointer(&out, g_free);
	/* No bus at all is 4; a bus without roamvpnd on it is 3. */
	g_assert_cmpint(run_ctl(&out, nobus, "status", NULL), ==, 4);
}

static void test_ctl_monitor(void)
{
	g_autofree char *ctl = g_build_filename(g_getenv("ROAMVPN_BUILD_ROOT"), "client",
						"roamvpnctl", NULL);
	g_autoptr(GError) error = NULL;
	struct ctl_run run = { -1, false };
	GString *seen = g_string_new(NULL);
	struct rv_tunnel *corp;
	GPid pid;
	int out_fd;
	gint64 deadline;

	fake_reset();
	corp = rv_manager_lookup_tunnel("corp");
	g_assert_true(g_spawn_async_with_pipes(NULL,
		(char *[]){ ctl, "--bus", bus_address, "--json", "monitor", NULL }, NULL,
		G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, NULL, &out_fd, NULL, &error));
	g_assert_no_error(error);
	g_child_watch_add(pid, ctl_exited, &run);
	g_unix_set_fd_nonblocking(out_fd, TRUE, NULL);

	/* The monitor subscribes asynchronously to us: keep changing until it reports. */
	deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	while (!strstr(seen->str, "\n") && g_get_monotonic_time() < deadline && !run.exited) {
		char buf[4096];
		ssize_t n;
		bool pause = false;

		corp->rx_bytes++;
		rv_events_emit(RV_EVENT_TUNNEL_CHANGED, corp);
		g_timeout_add(100, flag_timeout, &pause);
		while (!pause)
			g_main_context_iteration(NULL, TRUE);
		while ((n = read(out_fd, buf, sizeof(buf))) > 0)
			g_string_append_len(seen, buf, n);
	}
	kill(pid, SIGTERM);
	deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	while (!run.exited && g_get_monotonic_time() < deadline)
		g_main_context_iteration(NULL, FALSE), g_usleep(1000);
	close(out_fd);
	g_assert_true(run.exited);
	g_assert_true(WIFEXITED(run.status));
	g_assert_cmpint(WEXITSTATUS(run.status), ==, 0);
	g_assert_nonnull(strstr(seen->str, "\"Kind\":\"tunnel-changed\""));
	g_assert_nonnull(strstr(seen->str, "\"Object\":\"/net/roamvpn1/tunnel/corp\""));
	g_assert_nonnull(strstr(seen->str, "RxBytes="));
	assert_valid_json(seen->str);
	g_string_free(seen, TRUE);
}

/* In a child as uid 65534: reading is allowed; mutating reaches roamvpnd (the bus
 * policy lets Manager calls through so that polkit can decide), which refuses it:
 * no polkit on this bus, so the root/AdminGroup rule. Hook, for network scripts,
 * is still refused by the bus policy itself. */
static int unprivileged_child(void)
{
	DBusConnection *conn;
	DBusError err;
	DBusMessage *msg, *reply;
	int result = 0;
	const char *ifname = "wlan0";

	if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
	    setresuid(65534, 65534, 65534) < 0)
		return 10;
	dbus_error_init(&err);
	conn = dbus_connection_open_private(bus_address, &err);
	if (!conn || !dbus_bus_register(conn, &err))
		return 11;

	msg = dbus_message_new_method_call(RV_DBUS_NAME, RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, "Explain");
	dbus_message_append_args(msg, DBUS_TYPE_STRING, &ifname, DBUS_TYPE_INVALID);
	reply = dbus_connection_send_with_reply_and_block(conn, msg, 5000, &err);
	dbus_message_unref(msg);
	if (!reply)
		result |= 1;	/* read refused */
	else
		dbus_message_unref(reply);
	dbus_error_free(&err);

	msg = dbus_message_new_method_call(RV_DBUS_NAME, RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, "Pause");
	reply = dbus_connection_send_with_reply_and_block(conn, msg, 5000, &err);
	dbus_message_unref(msg);
	if (reply) {
		result |= 2;	/* mutation allowed */
		dbus_message_unref(reply);
	} else if (!dbus_error_has_name(&err, "net.roamvpn1.Error.PermissionDenied") ||
		   !strstr(err.message, "access denied")) {
		result |= 4;	/* refused, but not by roamvpnd's rule */
	}
	dbus_error_free(&err);

	msg = dbus_message_new_method_call(RV_DBUS_NAME, RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, "Hook");
	dbus_message_append_args(msg, DBUS_TYPE_STRING, &(const char *){ "postup" },
				 DBUS_TYPE_STRING, &ifname, DBUS_TYPE_INVALID);
	reply = dbus_connection_send_with_reply_and_block(conn, msg, 5000, &err);
	dbus_message_unref(msg);
	if (reply) {
		result |= 2;	/* mutation allowed */
		dbus_message_unref(reply);
	} else if (!dbus_error_has_name(&err, DBUS_ERROR_ACCESS_DENIED)) {
		result |= 4;	/* refused, but not by the policy */
	}
	dbus_error_free(&err);
	dbus_connection_close(conn);
	dbus_connection_unref(conn);
	return result;
}

/* In a child as uid 1 ("daemon"), which the test bus wrongly lets call everything:
 * roamvpnd itself must refuse. */
static bool expect_allowed;

static int misconfigured_child(void)
{
	DBusConnection *conn;
	DBusError err;
	DBusMessage *msg, *reply;
	int result = 0;

	if (setgroups(0, NULL) < 0 || setresgid(1, 1, 1) < 0 || setresuid(1, 1, 1) < 0)
		return 10;
	dbus_error_init(&err);
	conn = dbus_connection_open_private(bus_address, &err);
	if (!conn || !dbus_bus_register(conn, &err))
		return 11;
	msg = dbus_message_new_method_call(RV_DBUS_NAME, RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, "Pause");
	reply = dbus_connection_send_with_reply_and_block(conn, msg, 5000, &err);
	dbus_message_unref(msg);
	if (reply) {
		result |= expect_allowed ? 0 : 2;
		dbus_message_unref(reply);
	} else if (expect_allowed) {
		result |= 8;
	} else if (!dbus_error_has_name(&err, "net.roamvpn1.Error.PermissionDenied")) {
		result |= 4;
	}
	dbus_error_free(&err);
	dbus_connection_close(conn);
	dbus_connection_unref(conn);
	return result;
}

static void child_exited(GPid pid, gint status, gpointer user_data)
{
	*(gint *)user_data = status;
}

/* Run child() in a forked process while our main loop serves it; its exit code. */
static int fork_and_serve(int (*child)(void))
{
	gint status = -1;
	bool timed_out = false;
	guint timer;
	pid_t pid;

	pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0)
		_exit(child());
	g_child_watch_add(pid, child_exited, &status);
	timer = g_timeout_add(15000, flag_timeout, &timed_out);
	while (status == -1 && !timed_out)
		g_main_context_iteration(NULL, TRUE);
	if (timed_out) {
		kill(pid, SIGKILL);
		g_assert_not_reached();
	}
	g_source_remove(timer);
	g_assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void run_child_as(int (*child)(void))
{
	fake_reset();
	g_assert_cmpint(fork_and_serve(child), ==, 0);
	g_assert_true(fake_paused == expect_allowed);
}

static void test_policy_unprivileged(void)
{
	if (geteuid() != 0) {
		g_test_skip("needs root to run a client as uid 65534");
		return;
	}
	run_child_as(unprivileged_child);
}

static void test_daemon_refuses_unprivileged(void)
{
	if (geteuid() != 0) {
		g_test_skip("needs root to run a client as uid 1");
		return;
	}
	run_child_as(misconfigured_child);
}

/* roamvpn.conf AdminGroup= names the group the daemon accepts. */
static void test_daemon_admin_group(void)
{
	if (geteuid() != 0) {
		g_test_skip("needs root to run a client as uid 1");
		return;
	}
	rv_dbus_service_set_admin_group("daemon");
	expect_allowed = true;
	run_child_as(misconfigured_child);
	expect_allowed = false;
	rv_dbus_service_set_admin_group(NULL);
	run_child_as(misconfigured_child);
}

/* --- polkit: a fake org.freedesktop.PolicyKit1 that records what it was asked ---------- */

static struct {
	DBusConnection *conn;
	bool authorize, challenge;
	guint calls;
	char *action, *subject_kind, *subject_name, *tunnel_detail;
	guint32 flags;
} pk;

static DBusHandlerResult polkit_filter(DBusConnection *conn, DBusMessage *msg, void *data)
{
	g_autoptr(GVariant) args = NULL;
	g_autoptr(GVariant) subject = NULL;
	g_autoptr(GVariant) details = NULL;
	const char *kind, *action, *cancel, *name = NULL, *tunnel = NULL;
	DBusMessage *reply;
	DBusMessageIter iter;

	if (!dbus_message_is_method_call(msg, "org.freedesktop.PolicyKit1.Authority",
					 "CheckAuthorization"))
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
	args = rv_dbus_message_to_variant(msg);
	g_assert_true(g_variant_is_of_type(args, G_VARIANT_TYPE("((sa{sv})sa{ss}us)")));
	g_variant_get(args, "((&s@a{sv})&s@a{ss}u&s)", &kind, &subject, &action, &details,
		      &pk.flags, &cancel);
	g_variant_lookup(subject, "name", "&s", &name);
	g_variant_lookup(details, "tunnel", "&s", &tunnel);
	pk.calls++;
	g_free(pk.action);
	g_free(pk.subject_kind);
	g_free(pk.subject_name);
	g_free(pk.tunnel_detail);
	pk.action = g_strdup(action);
	pk.subject_kind = g_strdup(kind);
	pk.subject_name = g_strdup(name);
	pk.tunnel_detail = g_strdup(tunnel);

	reply = dbus_message_new_method_return(msg);
	dbus_message_iter_init_append(reply, &iter);
	g_assert_true(rv_dbus_append_variant(&iter, g_variant_new("(bb@a{ss})", pk.authorize,
		pk.challenge, g_variant_new_array(G_VARIANT_TYPE("{ss}"), NULL, 0))));
	dbus_connection_send(conn, reply, NULL);
	dbus_message_unref(reply);
	return DBUS_HANDLER_RESULT_HANDLED;
}

static void polkit_start(void)
{
	g_autoptr(GError) error = NULL;

	pk.conn = rv_dbus_open(bus_address, &error);
	g_assert_no_error(error);
	dbus_connection_add_filter(pk.conn, polkit_filter, NULL, NULL);
	g_assert_cmpint(dbus_bus_request_name(pk.conn, "org.freedesktop.PolicyKit1",
					      DBUS_NAME_FLAG_DO_NOT_QUEUE, NULL),
			==, DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER);
	pk.calls = 0;
}

static void polkit_stop(void)
{
	dbus_bus_release_name(pk.conn, "org.freedesktop.PolicyKit1", NULL);
	rv_dbus_close(pk.conn);
	pk.conn = NULL;
	g_clear_pointer(&pk.action, g_free);
	g_clear_pointer(&pk.subject_kind, g_free);
	g_clear_pointer(&pk.subject_name, g_free);
	g_clear_pointer(&pk.tunnel_detail, g_free);
}

/* As uid 1 (not in the admin group): METHOD with the interactive flag. Exit 0 on a
 * reply, 1 on roamvpnd's polkit refusal (the sentence names the action), 2 on a
 * group-rule refusal, 3 on anything else. */
static const char *polkit_method;

static int polkit_child(void)
{
	DBusConnection *conn;
	DBusError err;
	DBusMessage *msg, *reply;
	const char *tunnel = "corp", *ifname = "wlan0";
	int result;

	if (setgroups(0, NULL) < 0 || setresgid(1, 1, 1) < 0 || setresuid(1, 1, 1) < 0)
		return 10;
	dbus_error_init(&err);
	conn = dbus_connection_open_private(bus_address, &err);
	if (!conn || !dbus_bus_register(conn, &err))
		return 11;
	msg = dbus_message_new_method_call(RV_DBUS_NAME, RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE,
					   polkit_method);
	if (g_str_equal(polkit_method, "Connect"))
		dbus_message_append_args(msg, DBUS_TYPE_STRING, &tunnel, DBUS_TYPE_INVALID);
	else if (g_str_equal(polkit_method, "Hook"))
		dbus_message_append_args(msg, DBUS_TYPE_STRING, &(const char *){ "postup" },
					 DBUS_TYPE_STRING, &ifname, DBUS_TYPE_INVALID);
	dbus_message_set_allow_interactive_authorization(msg, TRUE);
	reply = dbus_connection_send_with_reply_and_block(conn, msg, 5000, &err);
	dbus_message_unref(msg);
	if (reply) {
		result = 0;
		dbus_message_unref(reply);
	} else if (dbus_error_has_name(&err, "net.roamvpn1.Error.PermissionDenied") &&
		   strstr(err.message, "access denied") && strstr(err.message, "net.roamvpn1.")) {
		result = 1;
	} else if (dbus_error_has_name(&err, "net.roamvpn1.Error.PermissionDenied") &&
		   strstr(err.message, "needs root or group")) {
		result = 2;
	} else {
		result = 3;
	}
	dbus_error_free(&err);
	dbus_connection_close(conn);
	dbus_connection_unref(conn);
	return result;
}

static int run_polkit_child(const char *method)
{
	polkit_method = method;
	return fork_and_serve(polkit_child);
}

/* polkit says yes: a user outside the admin group may connect; roamvpnd asked for
 * the caller's bus name, the control action, the tunnel as a detail, interactively. */
static void test_polkit_allows(void)
{
	struct rv_tunnel *corp;

	if (geteuid() != 0) {
		g_test_skip("needs root to run a client as uid 1");
		return;
	}
	fake_reset();
	polkit_start();
	pk.authorize = true;
	g_assert_cmpint(run_polkit_child("Connect"), ==, 0);
	corp = rv_manager_lookup_tunnel("corp");
	g_assert_cmpint(corp ? (int)corp->state : -1, ==, RV_TUNNEL_STARTING);
	g_assert_cmpuint(pk.calls, ==, 1);
	g_assert_cmpstr(pk.action, ==, "net.roamvpn1.control");
	g_assert_cmpstr(pk.subject_kind, ==, "system-bus-name");
	g_assert_nonnull(pk.subject_name);
	g_assert_true(pk.subject_name[0] == ':');
	g_assert_cmpstr(pk.tunnel_detail, ==, "corp");
	g_assert_cmpuint(pk.flags, ==, 1);	/* AllowUserInteraction */

	g_assert_cmpint(run_polkit_child("Pause"), ==, 0);
	g_assert_true(fake_paused);
	g_assert_cmpstr(pk.action, ==, "net.roamvpn1.control");
	g_assert_null(pk.tunnel_detail);
	polkit_stop();
}

/* polkit says no: refused with a sentence; Reload asks for the reload action; Hook
 * never asks polkit (root and the admin group only). */
static void test_polkit_denies(void)
{
	struct rv_tunnel *corp;

	if (geteuid() != 0) {
		g_test_skip("needs root to run a client as uid 1");
		return;
	}
	fake_reset();
	polkit_start();
	pk.authorize = false;
	g_assert_cmpint(run_polkit_child("Connect"), ==, 1);
	corp = rv_manager_lookup_tunnel("corp");
	g_assert_cmpint(corp ? (int)corp->state : -1, ==, RV_TUNNEL_DOWN);
	g_assert_cmpint(run_polkit_child("Reload"), ==, 1);
	g_assert_cmpstr(pk.action, ==, "net.roamvpn1.reload");
	pk.challenge = true;
	g_assert_cmpint(run_polkit_child("Pause"), ==, 1);
	g_assert_false(fake_paused);
	pk.challenge = false;
	g_assert_cmpuint(pk.calls, ==, 3);
	g_assert_cmpint(run_polkit_child("Hook"), ==, 2);
	g_assert_cmpuint(pk.calls, ==, 3);
	g_assert_null(last_call);
	polkit_stop();
}

int main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	int r;

	g_test_init(&argc, &argv, NULL);
	fake_reset();
	signals = g_ptr_array_new_with_free_func((GDestroyNotify)dbus_message_unref);

	start_bus();
	service_conn = rv_dbus_open(bus_address, &error);
	g_assert_no_error(error);
	g_assert_cmpint(rv_dbus_service_init(service_conn, &error), ==, 0);
	g_assert_no_error(error);
	client_conn = rv_dbus_open(bus_address, &error);
	g_assert_no_error(error);
	dbus_connection_add_filter(client_conn, client_filter, NULL, NULL);
	dbus_bus_add_match(client_conn, "type='signal',sender='" RV_DBUS_NAME "'", NULL);

	g_test_add_func("/dbus/label-escape", test_label_escape);
	g_test_add_func("/dbus/variant-roundtrip", test_variant_roundtrip);
	g_test_add_func("/dbus/managed-objects", test_managed_objects);
	g_test_add_func("/dbus/properties", test_properties);
	g_test_add_func("/dbus/properties-changed", test_properties_changed);
	g_test_add_func("/dbus/link-property-same", test_link_property_same);
	g_test_add_func("/dbus/interfaces-added-removed", test_interfaces_added_removed);
	g_test_add_func("/dbus/methods-and-errors", test_methods_and_errors);
	g_test_add_func("/dbus/explain", test_explain);
	g_test_add_func("/dbus/introspection-matches-data", test_introspection_matches_data);
	g_test_add_func("/dbus/policy-unprivileged", test_policy_unprivileged);
	g_test_add_func("/dbus/daemon-refuses-unprivileged", test_daemon_refuses_unprivileged);
	g_test_add_func("/dbus/daemon-admin-group", test_daemon_admin_group);
	g_test_add_func("/dbus/polkit-allows", test_polkit_allows);
	g_test_add_func("/dbus/polkit-denies", test_polkit_denies);
	g_test_add_func("/dbus/roamvpnctl/status-json", test_ctl_status_json);
	g_test_add_func("/dbus/roamvpnctl/status-summary", test_ctl_status_summary);
	g_test_add_func("/dbus/roamvpnctl/commands", test_ctl_commands);
	g_test_add_func("/dbus/roamvpnctl/monitor", test_ctl_monitor);
	r = g_test_run();

	rv_dbus_service_exit();
	rv_dbus_close(client_conn);
	rv_dbus_close(service_conn);
	stop_bus();
	g_ptr_array_unref(signals);
	g_clear_pointer(&fake_links, g_ptr_array_unref);
	g_clear_pointer(&fake_tunnels, g_ptr_array_unref);
	return r;
}
