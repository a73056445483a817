/* roamvpn-applet - roamvpnd in the desktop's tray.
 *
 * A StatusNotifierItem (libayatana-appindicator3) whose icon says whether the
 * network traffic is protected, a menu with each link's network and the rule
 * that decided, each tunnel's state with connect/disconnect, pause/resume and
 * "Why?" (roamvpnd's Explain), and notifications (libnotify) when a tunnel came
 * up by itself, failed, or a network wants a portal login. Everything it knows
 * comes from net.roamvpn1 on the system bus (model.c); everything it does is a
 * net.roamvpn1.Manager call, authorized by roamvpnd through polkit.
 *
 * For tests (--test): SIGUSR1 prints the model to stdout between "--- model"
 * and "--- end" lines; SIGUSR2 shows (or hides) the menu under a small panel
 * drawn by the applet, for screenshots; the "Why?" window's text is printed
 * when it arrives ("--- explain shown").
 */
#include "config.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <gtk/gtk.h>
#include <libayatana-appindicator/app-indicator.h>
#include <libnotify/notify.h>
#include <locale.h>
#include <stdio.h>

#include "model.h"
#include "protocol.h"

static struct {
	struct rv_model *model;
	AppIndicator *indicator;
	GtkWidget *menu;
	GtkWidget *panel;		/* --test: the screenshot panel */
	GtkWidget *panel_icon;
	bool test;
	bool popup_wanted;
	GtkWidget *explain_window;
	GtkTextBuffer *explain_buffer;
} app;

/* Icon names: roamvpn-<state>, installed in hicolor/scalable/status. */
static const char *overall_icon(enum rv_overall o)
{
	static const char *const icons[] = {
		[RV_OVERALL_UNPROTECTED] = "roamvpn-unprotected",
		[RV_OVERALL_PROTECTED] = "roamvpn-protected",
		[RV_OVERALL_CONNECTING] = "roamvpn-connecting",
		[RV_OVERALL_FAILED] = "roamvpn-failed",
		[RV_OVERALL_PORTAL] = "roamvpn-portal",
		[RV_OVERALL_PAUSED] = "roamvpn-paused",
	};

	return o < G_N_ELEMENTS(icons) ? icons[o] : icons[RV_OVERALL_UNPROTECTED];
}

static const char *overall_text(enum rv_overall o)
{
	switch (o) {
	case RV_OVERALL_PROTECTED: return _("VPN: protected");
	case RV_OVERALL_CONNECTING: return _("VPN: connecting");
	case RV_OVERALL_FAILED: return _("VPN: a tunnel failed");
	case RV_OVERALL_PORTAL: return _("VPN: waiting for a portal login");
	case RV_OVERALL_PAUSED: return _("VPN: automation paused");
	default: return _("VPN: not protected");
	}
}

/* A link's kill switch in words (NULL: none holds). */
static const char *kill_switch_text(const char *state)
{
	static const struct { const char *state; const char *text; } states[] = {
		{ "closed", N_("    kill switch: closed until the tunnel is up") },
		{ "tunnel", N_("    kill switch: only the tunnel may leave") },
		{ "login-window", N_("    kill switch: open for the portal login") },
		/* A KillSwitch=yes rule on a kernel without nftables: say so, so that
		 * nobody takes "protected" for a closed switch. */
		{ "unavailable", N_("    kill switch: not available (this kernel has no nftables)") },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(states); i++) {
		if (g_str_equal(states[i].state, state))
			return _(states[i].text);
	}
	return NULL;
}

/* A tunnel's state in words. */
static const char *state_text(const char *state)
{
	static const struct { const char *state; const char *text; } states[] = {
		{ "down", N_("down") },
		{ "starting", N_("connecting") },
		{ "up", N_("up") },
		{ "stopping", N_("disconnecting") },
		{ "failed", N_("failed") },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(states); i++) {
		if (g_str_equal(states[i].state, state))
			return _(states[i].text);
	}
	return state;
}

static void notify(const char *summary, const char *body, const char *icon)
{
	NotifyNotification *n = notify_notification_new(summary, body, icon);
	g_autoptr(GError) error = NULL;

	notify_notification_set_app_name(n, "roamvpn");
	if (!notify_notification_show(n, &error))
		g_message("notification \"%s\" not shown: %s", summary, error->message);
	g_object_unref(n);
}

/* --- actions ------------------------------------------------------------------------ */

static void call_done(const GError *error, const char *text, void *user_data)
{
	g_autofree char *what = user_data;

	if (error)
		notify(what, error->message, "roamvpn-failed");
}

static void on_tunnel_item(GtkMenuItem *item, gpointer data)
{
	const char *name = g_object_get_data(G_OBJECT(item), "tunnel");
	bool connect = GPOINTER_TO_INT(data);

	rv_model_call(app.model, connect ? "Connect" : "Disconnect", g_variant_new("(s)", name),
		      call_done, g_strdup_printf(connect ? _("Could not connect %s")
							 : _("Could not disconnect %s"), name));
}

static void on_pause(GtkMenuItem *item, gpointer data)
{
	bool pause = GPOINTER_TO_INT(data);

	rv_model_call(app.model, pause ? "Pause" : "Resume", NULL, call_done,
		      g_strdup(pause ? _("Could not pause") : _("Could not resume")));
}

static bool portal_url_is_web(const char *url)
{
	const char *scheme = g_uri_peek_scheme(url);	/* lower-cased, or NULL */
	g_autoptr(GUri) uri = NULL;

	if (g_strcmp0(scheme, "http") != 0 && g_strcmp0(scheme, "https") != 0)
		return false;
	uri = g_uri_parse(url, G_URI_FLAGS_NONE, NULL);
	return uri && g_uri_get_host(uri) && *g_uri_get_host(uri);
}

/* roamvpnd opened a window in the kill switch: now the login page in a browser. */
static void portal_opened(const GError *error, const char *text, void *user_data)
{
	g_autofree char *url = user_data;
	g_autoptr(GError) launch_error = NULL;

	if (error) {
		notify(_("Could not open the portal login"), error->message, "roamvpn-failed");
		return;
	}
	/* The URL is the portal's redirect, chosen by the network: hand only an
	 * absolute web address to the browser, never another scheme's handler. */
	if (!portal_url_is_web(url)) {
		if (*url)
			g_message("not opening the portal's page %s: not an http(s) address", url);
		return;
	}
	if (!g_app_info_launch_default_for_uri(url, NULL, &launch_error))
		g_message("cannot open %s: %s", url, launch_error->message);
}

static void on_portal(GtkMenuItem *item, gpointer data)
{
	const char *ifname = g_object_get_data(G_OBJECT(item), "link");
	const char *url = g_object_get_data(G_OBJECT(item), "url");

	rv_model_call(app.model, "OpenPortal", g_variant_new("(s)", ifname), portal_opened,
		      g_strdup(url ? url : ""));
}

static void explain_done(const GError *error, const char *text, void *user_data)
{
	const char *shown = error ? error->message : text ? text : "";

	gtk_text_buffer_set_text(app.explain_buffer, shown, -1);
	if (app.test) {
		g_autofree char *escaped = g_strescape(shown, NULL);

		printf("--- explain shown \"%s\"\n", escaped);
		fflush(stdout);
	}
}

static void on_why(GtkMenuItem *item, gpointer data)
{
	if (!app.explain_window) {
		GtkWidget *scroll = gtk_scrolled_window_new(NULL, NULL);
		GtkWidget *view = gtk_text_view_new();

		app.explain_window = gtk_window_new(GTK_WINDOW_TOPLEVEL);
		gtk_window_set_title(GTK_WINDOW(app.explain_window), _("Why roamvpn decided this"));
		gtk_window_set_default_size(GTK_WINDOW(app.explain_window), 640, 360);
		gtk_text_view_set_editable(GTK_TEXT_VIEW(view), FALSE);
		gtk_text_view_set_monospace(GTK_TEXT_VIEW(view), TRUE);
		gtk_text_view_set_wrap_mode(GTK_TEXT_VIEW(view), GTK_WRAP_WORD_CHAR);
		gtk_text_view_set_left_margin(GTK_TEXT_VIEW(view), 10);
		gtk_text_view_set_top_margin(GTK_TEXT_VIEW(view), 8);
		app.explain_buffer = gtk_text_view_get_buffer(GTK_TEXT_VIEW(view));
		gtk_container_add(GTK_CONTAINER(scroll), view);
		gtk_container_add(GTK_CONTAINER(app.explain_window), scroll);
		g_signal_connect(app.explain_window, "delete-event",
				 G_CALLBACK(gtk_widget_hide_on_delete), NULL);
	}
	gtk_text_buffer_set_text(app.explain_buffer, _("Asking roamvpnd…"), -1);
	gtk_widget_show_all(app.explain_window);
	gtk_window_present(GTK_WINDOW(app.explain_window));
	rv_model_call(app.model, "Explain", g_variant_new("(s)", ""), explain_done, NULL);
}

/* --- the menu ------------------------------------------------------------------------ */

static GtkWidget *add_item(GtkWidget *menu, const char *label, bool sensitive)
{
	GtkWidget *item = gtk_menu_item_new_with_label(label);

	gtk_widget_set_sensitive(item, sensitive);
	gtk_menu_shell_append(GTK_MENU_SHELL(menu), item);
	return item;
}

static void add_separator(GtkWidget *menu)
{
	gtk_menu_shell_append(GTK_MENU_SHELL(menu), gtk_separator_menu_item_new());
}

static char *since_text(guint64 usec)
{
	g_autoptr(GDateTime) t = usec ? g_date_time_new_from_unix_local((gint64)(usec / G_USEC_PER_SEC))
				      : NULL;

	return t ? g_date_time_format(t, "%H:%M") : NULL;
}

static void add_links(GtkWidget *menu, GPtrArray *links)
{
	guint shown = 0;

	for (guint i = 0; i < links->len; i++) {
		const struct rv_model_link *l = links->pdata[i];
		g_autofree char *network = NULL;
		g_autofree char *label = NULL;

		/* Loopback and inactive links decide nothing worth a line. */
		if (g_str_equal(l->type, "loopback") || (!l->active && !*l->rule))
			continue;
		network = l->ssid ? g_strdup_printf("%s \"%s\"", l->name, l->ssid)
				  : g_strdup_printf("%s (%s)", l->name, l->type);
		if (*l->rule)
			/* TRANSLATORS: network, the rule that matched, what it decided */
			label = g_strdup_printf(_("%s: rule %s, %s"), network, l->rule, l->decision);
		else
			label = g_strdup_printf(_("%s: no rule matched"), network);
		add_item(menu, label, false);
		if (kill_switch_text(l->kill_switch))
			add_item(menu, kill_switch_text(l->kill_switch), false);
		shown++;
		if (g_str_equal(l->portal, "portal")) {
			g_autofree char *login = g_strdup_printf(_("Log in to the network on %s…"), l->name);
			GtkWidget *item = add_item(menu, login, true);

			g_object_set_data_full(G_OBJECT(item), "link", g_strdup(l->name), g_free);
			g_object_set_data_full(G_OBJECT(item), "url", g_strdup(l->portal_url), g_free);
			g_signal_connect(item, "activate", G_CALLBACK(on_portal), NULL);
		}
	}
	if (!shown)
		add_item(menu, _("No network"), false);
}

static void add_tunnels(GtkWidget *menu, GPtrArray *tunnels)
{
	for (guint i = 0; i < tunnels->len; i++) {
		const struct rv_model_tunnel *t = tunnels->pdata[i];
		g_autofree char *since = since_text(t->since);
		g_autofree char *label = NULL;
		bool down = g_str_equal(t->state, "down") || g_str_equal(t->state, "failed");
		GtkWidget *item;

		if (since && !g_str_equal(t->state, "down"))
			/* TRANSLATORS: tunnel name, state, time of the last change */
			label = g_strdup_printf(_("%s: %s since %s"), t->name, state_text(t->state), since);
		else
			label = g_strdup_printf("%s: %s", t->name, state_text(t->state));
		add_item(menu, label, false);
		if (*t->last_error && g_str_equal(t->state, "failed")) {
			g_autofree char *err = g_strdup_printf(_("    last error: %s"), t->last_error);

			add_item(menu, err, false);
		}
		g_free(label);
		label = g_strdup_printf(down ? _("Connect %s") : _("Disconnect %s"), t->name);
		item = add_item(menu, label, true);
		g_object_set_data_full(G_OBJECT(item), "tunnel", g_strdup(t->name), g_free);
		g_signal_connect(item, "activate", G_CALLBACK(on_tunnel_item), GINT_TO_POINTER(down));
	}
	if (!tunnels->len)
		add_item(menu, _("No tunnels configured"), false);
}

static GtkWidget *build_menu(void)
{
	GtkWidget *menu = gtk_menu_new();
	enum rv_overall overall = rv_model_overall(app.model);
	GtkWidget *item;

	if (!rv_model_daemon_running(app.model)) {
		add_item(menu, _("roamvpnd is not running"), false);
	} else {
		g_autoptr(GPtrArray) links = rv_model_links(app.model);
		g_autoptr(GPtrArray) tunnels = rv_model_tunnels(app.model);
		bool paused = rv_model_paused(app.model);

		add_item(menu, overall_text(overall), false);
		add_separator(menu);
		add_links(menu, links);
		add_separator(menu);
		add_tunnels(menu, tunnels);
		add_separator(menu);
		item = add_item(menu, paused ? _("Resume automatic connections")
					     : _("Pause until the network changes"), true);
		g_signal_connect(item, "activate", G_CALLBACK(on_pause), GINT_TO_POINTER(!paused));
		item = add_item(menu, _("Why?…"), true);
		g_signal_connect(item, "activate", G_CALLBACK(on_why), NULL);
	}
	add_separator(menu);
	item = add_item(menu, _("Quit"), true);
	g_signal_connect(item, "activate", G_CALLBACK(gtk_main_quit), NULL);
	gtk_widget_show_all(menu);
	return menu;
}

/* --- the test panel (screenshots) ------------------------------------------------------ */

static void on_popped_up(GtkMenu *menu, gpointer flipped, gpointer final, gboolean fx,
			 gboolean fy, gpointer data)
{
	printf("--- popup shown\n");
	fflush(stdout);
}

static void show_popup(void)
{
	GdkEvent *click;

	if (!app.panel) {
		/* A desktop corner: a dark top bar with the icon, a light desktop below. */
		GtkWidget *desktop = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0);
		GtkWidget *bar = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 0);
		GtkWidget *below = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0);
		GtkCssProvider *css = gtk_css_provider_new();

		app.panel = gtk_window_new(GTK_WINDOW_POPUP);
		gtk_widget_set_name(bar, "rv-bar");
		gtk_widget_set_name(below, "rv-desktop");
		gtk_css_provider_load_from_data(css, "#rv-bar { background: #2e3436; }"
						     "#rv-desktop { background: #babdb6; }", -1, NULL);
		gtk_style_context_add_provider_for_screen(gdk_screen_get_default(),
							  GTK_STYLE_PROVIDER(css),
							  GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
		g_object_unref(css);
		gtk_window_move(GTK_WINDOW(app.panel), 0, 0);
		gtk_window_set_default_size(GTK_WINDOW(app.panel), 560, 400);
		app.panel_icon = gtk_image_new();
		gtk_widget_set_margin_end(app.panel_icon, 8);
		gtk_widget_set_margin_top(app.panel_icon, 2);
		gtk_widget_set_margin_bottom(app.panel_icon, 2);
		gtk_box_pack_end(GTK_BOX(bar), app.panel_icon, FALSE, FALSE, 0);
		gtk_box_pack_start(GTK_BOX(desktop), bar, FALSE, FALSE, 0);
		gtk_box_pack_start(GTK_BOX(desktop), below, TRUE, TRUE, 0);
		gtk_container_add(GTK_CONTAINER(app.panel), desktop);
	}
	gtk_image_set_from_icon_name(GTK_IMAGE(app.panel_icon),
				     overall_icon(rv_model_overall(app.model)), GTK_ICON_SIZE_LARGE_TOOLBAR);
	gtk_image_set_pixel_size(GTK_IMAGE(app.panel_icon), 22);
	gtk_widget_show_all(app.panel);
	g_signal_connect(app.menu, "popped-up", G_CALLBACK(on_popped_up), NULL);
	/* As if the icon had been clicked: GTK wants the event that opened the menu. */
	click = gdk_event_new(GDK_BUTTON_PRESS);
	click->button.window = g_object_ref(gtk_widget_get_window(app.panel));
	click->button.button = 1;
	click->button.time = GDK_CURRENT_TIME;
	gdk_event_set_device(click, gdk_seat_get_pointer(
		gdk_display_get_default_seat(gtk_widget_get_display(app.panel))));
	gtk_menu_popup_at_widget(GTK_MENU(app.menu), app.panel_icon, GDK_GRAVITY_SOUTH_EAST,
				 GDK_GRAVITY_NORTH_EAST, click);
	gdk_event_free(click);
}

static gboolean on_sigusr2(gpointer data)
{
	app.popup_wanted = !app.popup_wanted;
	if (app.popup_wanted) {
		show_popup();
	} else {
		gtk_menu_popdown(GTK_MENU(app.menu));
		if (app.panel)
			gtk_widget_hide(app.panel);
		printf("--- popup hidden\n");
		fflush(stdout);
	}
	return G_SOURCE_CONTINUE;
}

static gboolean on_sigusr1(gpointer data)
{
	g_autofree char *dump = rv_model_dump(app.model);

	printf("--- model\n%s--- end\n", dump);
	fflush(stdout);
	return G_SOURCE_CONTINUE;
}

/* --- following the model ----------------------------------------------------------------- */

/* The menu's items as text: labels and whether they can be clicked. */
static char *menu_text(GtkWidget *menu)
{
	g_autoptr(GList) children = menu ? gtk_container_get_children(GTK_CONTAINER(menu)) : NULL;
	GString *text = g_string_new(NULL);

	for (GList *c = children; c; c = c->next) {
		const char *label = GTK_IS_SEPARATOR_MENU_ITEM(c->data) ? "-"
				    : gtk_menu_item_get_label(GTK_MENU_ITEM(c->data));

		g_string_append_printf(text, "%d%s\n", gtk_widget_get_sensitive(c->data), label);
	}
	return g_string_free(text, FALSE);
}

static void on_changed(struct rv_model *model, void *data)
{
	enum rv_overall overall = rv_model_overall(model);
	GtkWidget *old = app.menu, *menu;
	g_autofree char *old_text = NULL;
	g_autofree char *new_text = NULL;

	app.model = model;	/* also called from rv_model_new(), before it returns */
	app_indicator_set_icon_full(app.indicator, overall_icon(overall), overall_text(overall));
	app_indicator_set_title(app.indicator, overall_text(overall));
	/* Counters and the like change often and show nowhere: keep the menu (and an
	 * open popup, and the panel's copy over dbusmenu) unless its text changed. */
	menu = g_object_ref_sink(build_menu());
	old_text = menu_text(old);
	new_text = menu_text(menu);
	if (old && g_str_equal(old_text, new_text)) {
		gtk_widget_destroy(menu);
		g_object_unref(menu);
		return;
	}
	app.menu = menu;
	app_indicator_set_menu(app.indicator, GTK_MENU(app.menu));
	if (old) {
		gtk_widget_destroy(old);
		g_object_unref(old);
	}
	if (app.test && app.popup_wanted)
		show_popup();
}

static void on_tunnel_state(struct rv_model *model, const struct rv_model_tunnel *t,
			    const char *old_state, void *data)
{
	g_autofree char *summary = NULL;
	g_autofree char *body = NULL;

	if (g_str_equal(t->state, "up") && *t->triggered_by && !g_str_equal(t->triggered_by, "manual")) {
		summary = g_strdup_printf(_("VPN %s connected"), t->name);
		body = g_strdup_printf(_("Connected by itself: %s joined a network the rules do not trust."),
				       t->triggered_by);
		notify(summary, body, "roamvpn-protected");
	} else if (g_str_equal(t->state, "failed")) {
		summary = g_strdup_printf(_("VPN %s failed"), t->name);
		notify(summary, *t->last_error ? t->last_error : _("No reason given."), "roamvpn-failed");
	}
}

static void on_link_portal(struct rv_model *model, const struct rv_model_link *l,
			   const char *old_portal, void *data)
{
	g_autofree char *summary = NULL;

	if (!g_str_equal(l->portal, "portal"))
		return;
	summary = g_strdup_printf(_("%s needs a login"), l->name);
	notify(summary, _("This network shows a login page (captive portal) before it lets traffic "
			  "through. Use \"Log in to the network\" in the roamvpn menu."),
	       "roamvpn-portal");
}

int main(int argc, char **argv)
{
	g_autofree char *bus = NULL;
	g_autofree char *icon_dir = NULL;
	gboolean test = FALSE, version = FALSE;
	const GOptionEntry options[] = {
		{ "bus", 0, 0, G_OPTION_ARG_STRING, &bus,
		  N_("The bus roamvpnd is on: system (default) or a D-Bus address"), N_("BUS") },
		{ "icon-dir", 0, 0, G_OPTION_ARG_FILENAME, &icon_dir,
		  N_("Look for the state icons in DIR first"), N_("DIR") },
		{ "test", 0, 0, G_OPTION_ARG_NONE, &test,
		  N_("SIGUSR1 prints the model, SIGUSR2 shows the menu (for tests)"), NULL },
		{ "version", 0, 0, G_OPTION_ARG_NONE, &version, N_("Print the version"), NULL },
		{ NULL },
	};
	struct rv_model_callbacks cb = {
		.changed = on_changed,
		.tunnel_state = on_tunnel_state,
		.link_portal = on_link_portal,
	};
	g_autoptr(GError) error = NULL;

	setlocale(LC_ALL, "");
	bindtextdomain(GETTEXT_PACKAGE, LOCALEDIR);
	bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
	textdomain(GETTEXT_PACKAGE);

	if (!gtk_init_with_args(&argc, &argv, NULL, options, GETTEXT_PACKAGE, &error)) {
		g_printerr("roamvpn-applet: %s\n", error->message);
		return 2;
	}
	if (version) {
		printf("roamvpn-applet %s\n", VERSION);
		return 0;
	}
	app.test = test;
	if (icon_dir)
		gtk_icon_theme_prepend_search_path(gtk_icon_theme_get_default(), icon_dir);
	notify_init("roamvpn-applet");

	app.indicator = app_indicator_new("roamvpn-applet", overall_icon(RV_OVERALL_UNPROTECTED),
					  APP_INDICATOR_CATEGORY_SYSTEM_SERVICES);
	if (icon_dir)
		app_indicator_set_icon_theme_path(app.indicator, icon_dir);
	app_indicator_set_status(app.indicator, APP_INDICATOR_STATUS_ACTIVE);

	app.model = rv_model_new(bus, &cb, &error);
	if (!app.model) {
		g_printerr("roamvpn-applet: cannot reach the bus: %s\n", error->message);
		return 1;
	}
	if (test) {
		g_unix_signal_add(SIGUSR1, on_sigusr1, NULL);
		g_unix_signal_add(SIGUSR2, on_sigusr2, NULL);
	}
	gtk_main();

	rv_model_free(app.model);
	g_clear_object(&app.indicator);
	notify_uninit();
	return 0;
}
