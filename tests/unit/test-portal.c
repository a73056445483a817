/* test-portal.c - the captive portal probe's judgement of an HTTP answer (untrusted
 * bytes from whatever network the laptop joined). */
#include "config.h"

#include <string.h>

#include "portal.h"

struct judge_case {
	const char *name;
	const char *answer;
	const char *expect;		/* PortalExpect=, NULL: 204 wanted */
	bool online;
	const char *location;		/* NULL: none */
	const char *detail;		/* prefix */
};

static const struct judge_case cases[] = {
	{ "204 wanted, 204", "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", NULL,
	  true, NULL, "expected answer (HTTP 204)" },
	{ "204 wanted, 200", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", NULL,
	  false, NULL, "unexpected answer (HTTP 200, other content)" },
	{ "text wanted, text", "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nNetworkManager is online\n",
	  "NetworkManager is online", true, NULL, "expected answer (HTTP 200)" },
	{ "text wanted, chunked text",
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n19\r\nNetworkManager is online\n\r\n0\r\n\r\n",
	  "NetworkManager is online", true, NULL, "expected answer" },
	{ "text wanted, login page", "HTTP/1.1 200 OK\r\n\r\n<html>Welcome to Cafe WiFi</html>",
	  "NetworkManager is online", false, NULL, "unexpected answer (HTTP 200, other content)" },
	{ "text wanted, 204", "HTTP/1.1 204 No Content\r\n\r\n", "online", false, NULL,
	  "unexpected answer (HTTP 204)" },
	{ "redirect", "HTTP/1.1 302 Found\r\nLocation: http://10.0.0.1:8080/login?u=x\r\n\r\n", NULL,
	  false, "http://10.0.0.1:8080/login?u=x", "redirected (HTTP 302)" },
	{ "redirect, header case and spaces", "HTTP/1.1 307 Temporary\r\nlocation:   https://portal.example/  \r\n\r\n",
	  "online", false, "https://portal.example/", "redirected (HTTP 307)" },
	{ "redirect with control bytes", "HTTP/1.1 302 Found\r\nLocation: http://x/\x1b[31m\x7f\xff\r\n\r\n",
	  NULL, false, "http://x/?[31m??", "redirected (HTTP 302)" },
	{ "not HTTP", "SSH-2.0-OpenSSH_9.2\r\n\r\n", NULL, false, NULL, "the answer is not HTTP" },
	{ "no end of headers", "HTTP/1.1 204 No Content\r\n", NULL, false, NULL, "the answer is not HTTP" },
	{ "bad status", "HTTP/1.1 2x4 Odd\r\n\r\n", NULL, false, NULL, "the answer is not HTTP" },
	{ "status out of range", "HTTP/1.1 999 Odd\r\n\r\n", NULL, false, NULL, "the answer is not HTTP" },
	{ "four digit status", "HTTP/1.1 2040 Odd\r\n\r\n", NULL, false, NULL, "the answer is not HTTP" },
	{ "empty", "", NULL, false, NULL, "the answer is not HTTP" },
	{ "HTTP/2 text", "HTTP/2 204\r\n\r\n", NULL, false, NULL, "the answer is not HTTP" },
};

static void test_judge(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		const struct judge_case *c = &cases[i];
		g_autofree char *location = NULL;
		g_autofree char *detail = NULL;
		bool online = rv_portal_judge(c->answer, strlen(c->answer), c->expect, &location, &detail);

		g_test_message("case: %s -> %s, %s", c->name, detail, location ? location : "(no location)");
		g_assert_cmpint(online, ==, c->online);
		g_assert_cmpstr(location, ==, c->location);
		g_assert_nonnull(detail);
		g_assert_true(g_str_has_prefix(detail, c->detail));
	}
}

/* A NUL in the answer ends it (the expected text cannot hide behind one), and a huge
 * Location is cut to 1024 bytes. */
static void test_hostile(void)
{
	static const char with_nul[] = "HTTP/1.1 200 OK\r\n\r\n\0NetworkManager is online";
	g_autofree char *location = NULL;
	g_autofree char *detail = NULL;
	g_autoptr(GString) big = g_string_new("HTTP/1.1 302 Found\r\nLocation: http://x/");

	g_assert_false(rv_portal_judge(with_nul, sizeof(with_nul) - 1, "NetworkManager", &location, &detail));
	g_clear_pointer(&detail, g_free);
	for (int i = 0; i < 5000; i++)
		g_string_append_c(big, 'a');
	g_string_append(big, "\r\n\r\n");
	g_assert_false(rv_portal_judge(big->str, big->len, NULL, &location, &detail));
	g_assert_cmpuint(strlen(location), ==, 1024);

	/* Random bytes never crash it and never count as online unless they say so. */
	for (int round = 0; round < 2000; round++) {
		guint8 buf[96];
		g_autofree char *loc = NULL;
		g_autofree char *det = NULL;

		for (size_t j = 0; j < sizeof(buf); j++)
			buf[j] = (guint8)g_test_rand_int_range(0, 256);
		if (round % 2)
			memcpy(buf, "HTTP/1.1 ", 9);
		g_assert_false(rv_portal_judge((const char *)buf, sizeof(buf), "NetworkManager is online",
					       &loc, &det));
		g_assert_nonnull(det);
	}
}

struct login_case {
	const char *probe, *location, *want;	/* want NULL: refused */
};

static const struct login_case login_cases[] = {
	{ "http://10.82.0.2/check", "http://10.0.0.1:8080/login?u=x", "http://10.0.0.1:8080/login?u=x" },
	{ "http://10.82.0.2/check", "https://portal.example/", "https://portal.example/" },
	{ "http://10.82.0.2/check", "/login?u=x", "http://10.82.0.2/login?u=x" },
	{ "http://10.82.0.2:8080/a/check", "login", "http://10.82.0.2:8080/a/login" },
	{ "http://10.82.0.2/check", "//portal.example/x", "http://portal.example/x" },
	{ "http://10.82.0.2/check", "file:///etc/shadow", NULL },
	{ "http://10.82.0.2/check", "smb://evil.example/share", NULL },
	{ "http://10.82.0.2/check", "javascript:alert(1)", NULL },
	{ "http://10.82.0.2/check", "http://bank.example@evil.example/", NULL },
	{ "http://10.82.0.2/check", "http:///nohost", NULL },
	{ "http://10.82.0.2/check", "", NULL },
	{ "http://10.82.0.2/check", NULL, NULL },
};

/* A redirect's Location, from the network, becomes the login page shown on D-Bus and
 * handed to a browser by the applet: only an absolute web address. */
static void test_login_url(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(login_cases); i++) {
		const struct login_case *c = &login_cases[i];
		g_autofree char *got = rv_portal_login_url(c->probe, c->location);

		g_test_message("%s + %s -> %s", c->probe, c->location ? c->location : "(null)",
			       got ? got : "(refused)");
		g_assert_cmpstr(got, ==, c->want);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/portal/judge", test_judge);
	g_test_add_func("/portal/hostile", test_hostile);
	g_test_add_func("/portal/login-url", test_login_url);
	return g_test_run();
}
