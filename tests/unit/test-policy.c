/* test-policy.c - combining several links: first match per link, connect wins; the
 * policy is a pure function (decisions come back to the caller, links stay as they
 * were, no event is emitted). */
#include "config.h"

#include <linux/if.h>
#include <string.h>

#include "events.h"
#include "policy.h"

static struct rv_link *make_link(int ifindex, const char *name, const char *type,
				 const char *ssid, const char *gw_mac)
{
	struct rv_link *l = g_new0(struct rv_link, 1);

	l->ifindex = ifindex;
	l->name = g_strdup(name);
	l->type = g_strdup(type);
	l->flags = IFF_UP | IFF_RUNNING | IFF_LOWER_UP;
	l->operstate = IF_OPER_UP;
	l->carrier = true;
	l->addresses = g_ptr_array_new_with_free_func(g_free);
	if (ssid) {
		l->ssid = g_bytes_new(ssid, strlen(ssid));
		l->wifi_connected = true;
	}
	if (gw_mac) {
		g_assert_true(rv_mac_parse(gw_mac, l->gateway_mac));
		l->has_gateway_mac = true;
	}
	return l;
}

static void free_link(gpointer p)
{
	struct rv_link *l = p;

	g_free(l->name);
	g_free(l->type);
	g_ptr_array_unref(l->addresses);
	if (l->ssid)
		g_bytes_unref(l->ssid);
	g_free(l);
}

static struct rv_ruleset *make_rules(void)
{
	g_autoptr(GHashTable) tunnels = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	struct rv_ruleset *set = g_new0(struct rv_ruleset, 1);
	static const char *const files[][2] = {
		{ "10-office-wired.rules", "[Match]\nType=ether\nGateway=02:00:00:00:aa:01\n[Action]\nDisconnect=all\n" },
		{ "20-home-wifi.rules", "[Match]\nType=wlan\nSSID=HomeNet\n[Action]\nDisconnect=all\n" },
		{ "30-docker.rules", "[Match]\nName=docker*\n[Action]\nIgnore=yes\n" },
		{ "50-untrusted.rules", "[Match]\nType=wlan ether\n[Action]\nConnect=corp\n" },
	};

	g_hash_table_add(tunnels, (gpointer) "corp");
	set->rules = g_ptr_array_new_with_free_func((GDestroyNotify)rv_rule_free);
	for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
		struct rv_rule *r = rv_rule_parse(files[i][0], files[i][1], tunnels, errors);

		for (guint e = 0; e < errors->len; e++)
			g_test_message("%s", (char *)g_ptr_array_index(errors, e));
		g_assert_nonnull(r);
		g_ptr_array_add(set->rules, r);
	}
	return set;
}

static GHashTable *wanted_new(void)
{
	return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

/* The decision kept for links->pdata[i]. */
static const struct rv_decision *decision_of(GHashTable *decisions, GPtrArray *links, guint i)
{
	const struct rv_link *l = links->pdata[i];
	const struct rv_decision *d = g_hash_table_lookup(decisions, GINT_TO_POINTER(l->ifindex));

	g_assert_nonnull(d);
	return d;
}

static void test_connect_wins(void)
{
	g_autoptr(rv_ruleset) rules = make_rules();
	g_autoptr(GPtrArray) links = g_ptr_array_new_with_free_func(free_link);
	g_autoptr(GHashTable) wanted = wanted_new();
	g_autoptr(GHashTable) decisions = rv_policy_decisions_new();

	/* Docked at the office (trusted wire) and joined to a café next door. */
	g_ptr_array_add(links, make_link(2, "eth0", "ether", NULL, "02:00:00:00:aa:01"));
	g_ptr_array_add(links, make_link(3, "wlan0", "wlan", "CafeWiFi", NULL));
	rv_policy_evaluate(rules, links, NULL, NULL, decisions, wanted);
	g_assert_cmpstr(decision_of(decisions, links, 0)->rule, ==, "10-office-wired");
	g_assert_cmpstr(decision_of(decisions, links, 0)->action, ==, "disconnect all");
	g_assert_cmpstr(decision_of(decisions, links, 1)->rule, ==, "50-untrusted");
	g_assert_cmpstr(g_hash_table_lookup(wanted, "corp"), ==, "wlan0");
	g_assert_cmpuint(g_hash_table_size(wanted), ==, 1);
}

static void test_all_trusted(void)
{
	g_autoptr(rv_ruleset) rules = make_rules();
	g_autoptr(GPtrArray) links = g_ptr_array_new_with_free_func(free_link);
	g_autoptr(GHashTable) wanted = wanted_new();
	g_autoptr(GHashTable) decisions = rv_policy_decisions_new();

	g_ptr_array_add(links, make_link(2, "eth0", "ether", NULL, "02:00:00:00:aa:01"));
	g_ptr_array_add(links, make_link(3, "wlan0", "wlan", "HomeNet", NULL));
	g_ptr_array_add(links, make_link(4, "docker0", "ether", NULL, NULL));
	rv_policy_evaluate(rules, links, NULL, NULL, decisions, wanted);
	g_assert_cmpuint(g_hash_table_size(wanted), ==, 0);
	g_assert_cmpstr(decision_of(decisions, links, 2)->action, ==, "ignore");
}

static void test_evil_twin_wire(void)
{
	g_autoptr(rv_ruleset) rules = make_rules();
	g_autoptr(GPtrArray) links = g_ptr_array_new_with_free_func(free_link);
	g_autoptr(GHashTable) wanted = wanted_new();
	g_autoptr(GHashTable) decisions = rv_policy_decisions_new();

	/* Same kind of wire, another gateway: not the office. */
	g_ptr_array_add(links, make_link(2, "eth0", "ether", NULL, "02:00:00:00:bb:02"));
	rv_policy_evaluate(rules, links, NULL, NULL, decisions, wanted);
	g_assert_cmpstr(g_hash_table_lookup(wanted, "corp"), ==, "eth0");
}

static void test_excluded_links(void)
{
	g_autoptr(rv_ruleset) rules = make_rules();
	g_autoptr(GPtrArray) links = g_ptr_array_new_with_free_func(free_link);
	g_autoptr(GHashTable) wanted = wanted_new();
	g_autoptr(GHashTable) decisions = rv_policy_decisions_new();
	g_autoptr(GHashTable) devices = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GHashTable) skip = g_hash_table_new(g_str_hash, g_str_equal);
	struct rv_link *down, *dormant;

	down = make_link(2, "eth0", "ether", NULL, NULL);
	down->carrier = false;
	dormant = make_link(3, "wlan0", "wlan", "CafeWiFi", NULL);
	dormant->operstate = IF_OPER_DORMANT;	/* WPA handshake not done (or wrong key) */
	g_ptr_array_add(links, down);
	g_ptr_array_add(links, dormant);
	g_ptr_array_add(links, make_link(4, "corp", "none", NULL, NULL));
	g_ptr_array_add(links, make_link(5, "eth1", "ether", NULL, NULL));
	g_hash_table_add(devices, (gpointer) "corp");
	g_hash_table_add(skip, (gpointer) "eth1");

	rv_policy_evaluate(rules, links, devices, skip, decisions, wanted);
	g_assert_cmpuint(g_hash_table_size(wanted), ==, 0);
	g_assert_cmpstr(rv_policy_link_excluded(down, devices, skip), ==, "inactive (no carrier)");
	g_assert_cmpstr(rv_policy_link_excluded(dormant, devices, skip), ==, "inactive (not joined yet)");
	g_assert_cmpstr(rv_policy_link_excluded(links->pdata[2], devices, skip), ==, "tunnel device");
	g_assert_cmpstr(rv_policy_link_excluded(links->pdata[3], devices, skip), ==,
			"going down (predown hook)");
	g_assert_null(decision_of(decisions, links, 0)->action);
}

static guint events_seen;

static void count_event(enum rv_event_kind kind, const void *object, void *data)
{
	events_seen++;
}

/* Evaluating writes nothing into the links and announces nothing: the decisions,
 * with the reasons why earlier rules did not match, come back to the caller. */
static void test_pure(void)
{
	g_autoptr(rv_ruleset) rules = make_rules();
	g_autoptr(GPtrArray) links = g_ptr_array_new_with_free_func(free_link);
	g_autoptr(GHashTable) wanted = wanted_new();
	g_autoptr(GHashTable) decisions = rv_policy_decisions_new();
	g_autoptr(rv_decision) again = NULL;
	const struct rv_decision *d;
	const struct rv_verdict *v;
	guint id = rv_events_subscribe(count_event, NULL);

	g_ptr_array_add(links, make_link(3, "wlan0", "wlan", "CafeWiFi", NULL));
	rv_policy_evaluate(rules, links, NULL, NULL, decisions, wanted);
	rv_events_unsubscribe(id);
	g_assert_cmpuint(events_seen, ==, 0);
	d = decision_of(decisions, links, 0);
	g_assert_cmpstr(d->rule, ==, "50-untrusted");
	g_assert_cmpstr(d->connect, ==, "corp");
	g_assert_null(d->excluded);
	/* 10 (a wlan is no ether), 20 (another SSID), 30 (not docker*), 50 matched. */
	g_assert_cmpuint(d->verdicts->len, ==, 4);
	v = d->verdicts->pdata[1];
	g_assert_cmpstr(v->rule, ==, "20-home-wifi");
	g_assert_false(v->matched);
	g_assert_nonnull(v->reason);
	v = d->verdicts->pdata[3];
	g_assert_true(v->matched);
	again = rv_policy_decide(rules, links->pdata[0], NULL, NULL);
	g_assert_true(rv_decision_same(d, again));
}

static void test_fingerprint(void)
{
	g_autoptr(GPtrArray) links = g_ptr_array_new_with_free_func(free_link);
	struct rv_link *wlan = make_link(3, "wlan0", "wlan", "HomeNet", NULL);
	g_autofree char *a = NULL, *b = NULL, *c = NULL, *d = NULL;

	g_ptr_array_add(links, wlan);
	a = rv_policy_fingerprint(links, NULL, NULL);
	/* An address change is not a network change... */
	g_ptr_array_add(wlan->addresses, g_strdup("192.0.2.7/24"));
	b = rv_policy_fingerprint(links, NULL, NULL);
	g_assert_cmpstr(a, ==, b);
	/* ...roaming to another SSID on the same link is. */
	g_bytes_unref(wlan->ssid);
	wlan->ssid = g_bytes_new("Cafe\0WiFi", 9);
	c = rv_policy_fingerprint(links, NULL, NULL);
	g_assert_cmpstr(a, !=, c);
	/* And so is losing the link. */
	wlan->carrier = false;
	d = rv_policy_fingerprint(links, NULL, NULL);
	g_assert_cmpstr(d, ==, "");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/policy/connect-wins", test_connect_wins);
	g_test_add_func("/policy/all-trusted", test_all_trusted);
	g_test_add_func("/policy/evil-twin-wire", test_evil_twin_wire);
	g_test_add_func("/policy/excluded-links", test_excluded_links);
	g_test_add_func("/policy/fingerprint", test_fingerprint);
	g_test_add_func("/policy/pure", test_pure);
	return g_test_run();
}
