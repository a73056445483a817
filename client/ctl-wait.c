/* ctl-wait.c - the roamvpnctl commands that wait for tunnel states.
 *
 * Owns: up and down (with --wait: until the tunnel is there or failed, bounded
 * by --timeout) and hook (postup returns at once; predown waits, bounded, until
 * the tunnels the interface triggered are down).
 */
#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>

#include "ctl.h"
#include "json.h"

/* --- waiting for a tunnel state ------------------------------------------------------------ */

struct wait_state {
	const char *path;
	const char *target;	/* "up" or "down" */
	char *state;
	char *last_error;
	bool finished;
	bool timed_out;
	GMainLoop *loop;
};

static bool wait_check(struct wait_state *w)
{
	if (!w->state)
		return false;
	if (g_str_equal(w->state, w->target) ||
	    (g_str_equal(w->target, "up") && g_str_equal(w->state, "failed")))
		w->finished = true;
	if (w->finished)
		g_main_loop_quit(w->loop);
	return w->finished;
}

static DBusHandlerResult wait_filter(DBusConnection *conn, DBusMessage *msg, void *data)
{
	struct wait_state *w = data;
	g_autoptr(GVariant) args = NULL;
	g_autoptr(GVariant) changed = NULL;
	const char *iface, *s;

	if (dbus_message_is_signal(msg, DBUS_INTERFACE_LOCAL, "Disconnected")) {
		g_main_loop_quit(w->loop);
		return DBUS_HANDLER_RESULT_HANDLED;
	}
	if (!dbus_message_is_signal(msg, PROPERTIES_IFACE, "PropertiesChanged") ||
	    !dbus_message_has_path(msg, w->path))
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
	args = rv_dbus_message_to_variant(msg);
	if (!args || !g_variant_is_of_type(args, G_VARIANT_TYPE("(sa{sv}as)")))
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
	g_variant_get(args, "(&s@a{sv}@as)", &iface, &changed, NULL);
	if (g_variant_lookup(changed, "LastError", "&s", &s)) {
		g_free(w->last_error);
		w->last_error = g_strdup(s);
	}
	if (g_variant_lookup(changed, "State", "&s", &s)) {
		g_free(w->state);
		w->state = g_strdup(s);
		wait_check(w);
	}
	return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
}

static gboolean wait_timeout(gpointer data)
{
	struct wait_state *w = data;

	w->timed_out = true;
	g_main_loop_quit(w->loop);
	return G_SOURCE_REMOVE;
}

static int cmd_updown(const char *name, bool up, bool wait, double timeout_s)
{
	/* Not rv_dbus_tunnel_path(): that would link the whole service in. */
	g_autofree char *label = rv_dbus_label_escape(name);
	g_autofree char *path = g_strconcat(RV_DBUS_TUNNEL_PREFIX "/", label, NULL);
	g_autofree char *match = NULL;
	struct wait_state w = { path, up ? "up" : "down", NULL, NULL, false, false, NULL };
	g_autoptr(GVariant) props = NULL;
	guint timer = 0;
	int r;

	if (wait) {
		/* Subscribe before asking, so that no change can slip between. */
		match = g_strdup_printf("type='signal',sender='%s',interface='%s',"
					"member='PropertiesChanged',path='%s'",
					RV_DBUS_NAME, PROPERTIES_IFACE, path);
		dbus_bus_add_match(ctl.conn, match, NULL);
		w.loop = g_main_loop_new(NULL, FALSE);
		dbus_connection_add_filter(ctl.conn, wait_filter, &w, NULL);
	}
	r = ctl_call(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, up ? "Connect" : "Disconnect",
		 g_variant_new("(s)", name), NULL);
	if (r || !wait)
		goto out;

	/* The state may already be the target (or was reached before our match). */
	r = ctl_get_all(path, RV_DBUS_TUNNEL_IFACE, &props);
	if (r)
		goto out;
	g_free(w.state);
	w.state = g_strdup(ctl_prop_str(props, "State"));
	w.last_error = g_strdup(ctl_prop_str(props, "LastError"));
	/* A tunnel that failed before this request may still say so: only trust
	 * "failed" once a change arrives, unless it is already the target. */
	if (!(g_str_equal(w.state, w.target))) {
		g_free(w.state);
		w.state = NULL;
		timer = g_timeout_add((guint)(timeout_s * 1000), wait_timeout, &w);
		g_main_loop_run(w.loop);
	} else {
		w.finished = true;
	}

	if (w.timed_out) {
		g_printerr(_("Timed out after %.0f s waiting for tunnel %s to be %s\n"), timeout_s,
			   name, w.target);
		r = EXIT_FAILURE_;
	} else if (!w.finished) {
		g_printerr(_("Lost the connection to roamvpnd while waiting\n"));
		r = EXIT_UNREACHABLE;
	} else if (!g_str_equal(w.state, w.target)) {
		g_printerr(_("Tunnel %s failed: %s\n"), name,
			   w.last_error && *w.last_error ? w.last_error : _("no reason given"));
		r = EXIT_FAILURE_;
	} else if (!ctl.json) {
		printf(_("Tunnel %s is %s\n"), name, w.target);
	}
	if (timer && !w.timed_out)
		g_source_remove(timer);
out:
	if (ctl.json && r == EXIT_OK) {
		GString *out = g_string_new("{\"Tunnel\":");

		rv_json_append_string(out, name, -1);
		g_string_append(out, ",\"State\":");
		if (w.state)
			rv_json_append_string(out, w.state, -1);
		else
			g_string_append(out, "null");
		g_string_append_c(out, '}');
		ctl_print_json(out);
		g_string_free(out, TRUE);
	}
	if (wait) {
		dbus_connection_remove_filter(ctl.conn, wait_filter, &w);
		dbus_bus_remove_match(ctl.conn, match, NULL);
		g_main_loop_unref(w.loop);
	}
	g_free(w.state);
	g_free(w.last_error);
	return r;
}

int ctl_cmd_up(const struct cmd_line *line)
{
	return cmd_updown(line->args[0], true, line->wait, line->timeout_s);
}

int ctl_cmd_down(const struct cmd_line *line)
{
	return cmd_updown(line->args[0], false, line->wait, line->timeout_s);
}

/* --- hook: postup returns at once; predown waits until the interface's tunnels are down --
 *
 * The daemon stops the tunnels an interface triggered while it handles Hook (the
 * rules run synchronously), so right after the call those tunnels are "stopping";
 * a tunnel only reaches "down" after its DNS and routes are restored. predown
 * therefore waits, bounded, until every tunnel that was stopping with
 * TriggeredBy == IFACE is down (or failed, or gone), so that netifrc flushes the
 * addresses only afterwards. Signals and the snapshot arrive in order on one
 * connection: the snapshot (an asynchronous GetManagedObjects) replaces whatever
 * earlier signals said, and later signals update it. */

struct predown_wait {
	const char *ifname;
	GHashTable *pending;	/* object path -> tunnel name, still stopping */
	bool have_snapshot;
	bool daemon_gone;
	bool timed_out;
	GMainLoop *loop;
};

static bool tunnel_is_stopped(const char *state)
{
	return g_str_equal(state, "down") || g_str_equal(state, "failed");
}

static void predown_check_done(struct predown_wait *w)
{
	if (w->have_snapshot && g_hash_table_size(w->pending) == 0)
		g_main_loop_quit(w->loop);
}

static void predown_snapshot(DBusPendingCall *pending, void *data)
{
	struct predown_wait *w = data;
	DBusMessage *reply = dbus_pending_call_steal_reply(pending);
	g_autoptr(GVariant) args = NULL;
	g_autoptr(GVariant) all = NULL;
	GVariantIter iter;
	const char *path;
	GVariant *ifaces;

	w->have_snapshot = true;
	if (reply && dbus_message_get_type(reply) == DBUS_MESSAGE_TYPE_METHOD_RETURN)
		args = rv_dbus_message_to_variant(reply);
	if (reply)
		dbus_message_unref(reply);
	if (!args || !g_variant_is_of_type(args, G_VARIANT_TYPE("(a{oa{sa{sv}}})"))) {
		/* Nothing known to wait for; the daemon going away is reported apart. */
		predown_check_done(w);
		return;
	}
	all = g_variant_get_child_value(args, 0);
	g_variant_iter_init(&iter, all);
	while (g_variant_iter_next(&iter, "{&o@a{sa{sv}}}", &path, &ifaces)) {
		g_autoptr(GVariant) props = g_variant_lookup_value(ifaces, RV_DBUS_TUNNEL_IFACE,
								   G_VARIANT_TYPE_VARDICT);

		/* A tunnel still wanted (by another link, or by hand) stays up or
		 * starting: that one is not waited for. */
		if (props && g_str_equal(ctl_prop_str(props, "TriggeredBy"), w->ifname) &&
		    g_str_equal(ctl_prop_str(props, "State"), "stopping"))
			g_hash_table_insert(w->pending, g_strdup(path),
					    g_strdup(ctl_prop_str(props, "Name")));
		g_variant_unref(ifaces);
	}
	predown_check_done(w);
}

static DBusHandlerResult predown_filter(DBusConnection *conn, DBusMessage *msg, void *data)
{
	struct predown_wait *w = data;
	g_autoptr(GVariant) args = NULL;
	g_autoptr(GVariant) changed = NULL;
	const char *s, *name, *old_owner, *new_owner;

	if (dbus_message_is_signal(msg, DBUS_INTERFACE_LOCAL, "Disconnected") ||
	    (dbus_message_is_signal(msg, DBUS_INTERFACE_DBUS, "NameOwnerChanged") &&
	     dbus_message_get_args(msg, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_STRING,
				   &old_owner, DBUS_TYPE_STRING, &new_owner, DBUS_TYPE_INVALID) &&
	     g_str_equal(name, RV_DBUS_NAME) && !*new_owner)) {
		w->daemon_gone = true;
		g_main_loop_quit(w->loop);
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
	}
	if (!w->have_snapshot)
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;	/* the snapshot decides */
	if (dbus_message_is_signal(msg, OBJECT_MANAGER_IFACE, "InterfacesRemoved")) {
		const char *path = NULL;

		if (dbus_message_get_args(msg, NULL, DBUS_TYPE_OBJECT_PATH, &path,
					  DBUS_TYPE_INVALID) && path)
			g_hash_table_remove(w->pending, path);
		predown_check_done(w);
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
	}
	if (!dbus_message_is_signal(msg, PROPERTIES_IFACE, "PropertiesChanged") ||
	    !dbus_message_get_path(msg) ||
	    !g_hash_table_contains(w->pending, dbus_message_get_path(msg)))
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
	args = rv_dbus_message_to_variant(msg);
	if (!args || !g_variant_is_of_type(args, G_VARIANT_TYPE("(sa{sv}as)")))
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
	g_variant_get(args, "(&s@a{sv}@as)", NULL, &changed, NULL);
	if (g_variant_lookup(changed, "State", "&s", &s) && tunnel_is_stopped(s))
		g_hash_table_remove(w->pending, dbus_message_get_path(msg));
	predown_check_done(w);
	return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
}

static gboolean predown_timeout(gpointer data)
{
	struct predown_wait *w = data;

	w->timed_out = true;
	g_main_loop_quit(w->loop);
	return G_SOURCE_REMOVE;
}

static const char *const predown_matches[] = {
	"type='signal',sender='" RV_DBUS_NAME "',interface='" PROPERTIES_IFACE "',"
	"member='PropertiesChanged',path_namespace='" RV_DBUS_TUNNEL_PREFIX "'",
	"type='signal',sender='" RV_DBUS_NAME "',interface='" OBJECT_MANAGER_IFACE "',"
	"member='InterfacesRemoved'",
	"type='signal',sender='" DBUS_SERVICE_DBUS "',member='NameOwnerChanged',"
	"arg0='" RV_DBUS_NAME "'",
};

int ctl_cmd_hook(const struct cmd_line *line)
{
	const char *event = line->args[0], *ifname = line->args[1];
	struct predown_wait w = { ifname, NULL, false, false, false, NULL };
	bool wait = g_str_equal(event, "predown") && line->timeout_s > 0;
	DBusMessage *msg;
	DBusPendingCall *pending = NULL;
	guint timer;
	int r;

	if (!wait)
		return ctl_call(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, "Hook",
			    g_variant_new("(ss)", event, ifname), NULL);

	/* Subscribe before asking, so that no change can slip between. */
	for (gsize i = 0; i < G_N_ELEMENTS(predown_matches); i++)
		dbus_bus_add_match(ctl.conn, predown_matches[i], NULL);
	w.pending = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	w.loop = g_main_loop_new(NULL, FALSE);
	dbus_connection_add_filter(ctl.conn, predown_filter, &w, NULL);

	r = ctl_call(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, "Hook",
		 g_variant_new("(ss)", event, ifname), NULL);
	if (r)
		goto out;
	msg = dbus_message_new_method_call(RV_DBUS_NAME, RV_DBUS_PATH, OBJECT_MANAGER_IFACE,
					   "GetManagedObjects");
	if (!dbus_connection_send_with_reply(ctl.conn, msg, &pending, DEFAULT_CALL_TIMEOUT_MS) ||
	    !pending) {
		dbus_message_unref(msg);
		g_printerr(_("Lost the connection to roamvpnd while waiting\n"));
		r = EXIT_UNREACHABLE;
		goto out;
	}
	dbus_message_unref(msg);
	dbus_pending_call_set_notify(pending, predown_snapshot, &w, NULL);

	timer = g_timeout_add((guint)(line->timeout_s * 1000), predown_timeout, &w);
	g_main_loop_run(w.loop);
	if (!w.timed_out)
		g_source_remove(timer);

	if (w.daemon_gone) {
		/* A daemon that stops takes its tunnels down and restores DNS itself. */
		g_printerr(_("roamvpnd went away while %s was going down\n"), ifname);
		r = EXIT_UNREACHABLE;
	} else if (w.timed_out) {
		GHashTableIter it;
		gpointer name;
		g_autoptr(GString) names = g_string_new(NULL);

		g_hash_table_iter_init(&it, w.pending);
		while (g_hash_table_iter_next(&it, NULL, &name))
			g_string_append_printf(names, "%s%s", names->len ? ", " : "",
					       (char *)name);
		if (!w.have_snapshot)
			g_printerr(_("Timed out after %.0f s waiting for roamvpnd\n"),
				   line->timeout_s);
		else
			g_printerr(_("Timed out after %.0f s: tunnel(s) %s not down yet\n"),
				   line->timeout_s, names->str);
		r = EXIT_FAILURE_;
	}
out:
	if (pending) {
		dbus_pending_call_cancel(pending);
		dbus_pending_call_unref(pending);
	}
	dbus_connection_remove_filter(ctl.conn, predown_filter, &w);
	for (gsize i = 0; i < G_N_ELEMENTS(predown_matches); i++)
		dbus_bus_remove_match(ctl.conn, predown_matches[i], NULL);
	g_main_loop_unref(w.loop);
	g_hash_table_destroy(w.pending);
	return r;
}
