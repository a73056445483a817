/* test-ie.c - 802.11 information element walking on hostile input (daemon/ie.c).
 *
 * Every buffer handed to the walker is a heap copy of exactly its length, so under
 * ASan (meson configure -Db_sanitize=address,undefined) a read one byte past the end
 * fails the test.
 */
#include "config.h"

#include <glib.h>
#include <string.h>

#include "ie.h"

/* Exact-size heap copy: the byte after the end is a redzone under ASan. */
static uint8_t *exact_copy(const uint8_t *bytes, size_t len)
{
	return len ? g_memdup2(bytes, len) : g_malloc(1);
}

static gboolean find_ssid(const uint8_t *bytes, size_t len, GBytes **out)
{
	g_autofree uint8_t *copy = exact_copy(bytes, len);
	const uint8_t *ssid = NULL;
	size_t ssid_len = 0;

	if (!rv_ie_find_ssid(copy, len, &ssid, &ssid_len))
		return FALSE;
	/* The result must lie inside the buffer it came from. */
	g_assert_true(ssid >= copy && ssid + ssid_len <= copy + len);
	*out = g_bytes_new(ssid, ssid_len);
	return TRUE;
}

static void test_ssid_after_other_elements(void)
{
	/* Supported rates, then DS parameter set, then the SSID. */
	const uint8_t ies[] = { 0x01, 0x04, 0x82, 0x84, 0x8b, 0x96, 0x03, 0x01, 0x06,
				0x00, 0x07, 'H', 'o', 'm', 'e', 'N', 'e', 't',
				0x32, 0x01, 0x0c };
	g_autoptr(GBytes) ssid = NULL;

	g_assert_true(find_ssid(ies, sizeof(ies), &ssid));
	g_assert_cmpmem(g_bytes_get_data(ssid, NULL), g_bytes_get_size(ssid), "HomeNet", 7);
	g_assert_true(rv_ie_well_formed(ies, sizeof(ies)));
}

static void test_empty_and_null(void)
{
	const uint8_t *data = NULL;
	size_t len = 0;
	g_autoptr(GBytes) ssid = NULL;

	g_assert_false(rv_ie_find(NULL, 0, 0, &data, &len));
	g_assert_false(rv_ie_find(NULL, 10, 0, &data, &len));
	g_assert_false(find_ssid((const uint8_t *)"", 0, &ssid));
	g_assert_true(rv_ie_well_formed(NULL, 0));
	g_assert_false(rv_ie_well_formed(NULL, 3));
}

static void test_truncated_header(void)
{
	const uint8_t one[] = { 0x00 };
	const uint8_t tail[] = { 0x01, 0x01, 0x82, 0x00 };	/* good element, then half a header */
	g_autoptr(GBytes) ssid = NULL;

	g_assert_false(find_ssid(one, sizeof(one), &ssid));
	g_assert_false(find_ssid(tail, sizeof(tail), &ssid));
	g_assert_false(rv_ie_well_formed(tail, sizeof(tail)));
}

static void test_length_past_end(void)
{
	const uint8_t ssid_past_end[] = { 0x00, 0x05, 'a', 'b' };
	const uint8_t max_len_at_end[] = { 0x01, 0x01, 0x82, 0x00, 0xff, 'x' };
	g_autoptr(GBytes) ssid = NULL;

	g_assert_false(find_ssid(ssid_past_end, sizeof(ssid_past_end), &ssid));
	g_assert_false(find_ssid(max_len_at_end, sizeof(max_len_at_end), &ssid));
	g_assert_false(rv_ie_well_formed(ssid_past_end, sizeof(ssid_past_end)));
}

static void test_malformed_before_ssid(void)
{
	/* An element that claims 0x40 bytes swallows the "SSID" after it: walking on
	 * would mean interpreting garbage, so nothing is found. */
	const uint8_t ies[] = { 0xdd, 0x40, 0x00, 0x03, 'e', 'v', 'l' };
	g_autoptr(GBytes) ssid = NULL;

	g_assert_false(find_ssid(ies, sizeof(ies), &ssid));
}

static void test_zero_length_ssid(void)
{
	const uint8_t ies[] = { 0x00, 0x00, 0x01, 0x01, 0x82 };
	g_autoptr(GBytes) ssid = NULL;

	g_assert_true(find_ssid(ies, sizeof(ies), &ssid));
	g_assert_cmpuint(g_bytes_get_size(ssid), ==, 0);
}

static void test_32_byte_binary_ssid(void)
{
	uint8_t ies[2 + 32];
	g_autoptr(GBytes) ssid = NULL;

	ies[0] = 0x00;
	ies[1] = 32;
	for (int i = 0; i < 32; i++)
		ies[2 + i] = (uint8_t)(i * 37 + 0x80);	/* non-UTF-8 */
	ies[2 + 5] = 0x00;				/* embedded NUL */
	ies[2 + 31] = 0xff;
	g_assert_true(find_ssid(ies, sizeof(ies), &ssid));
	/* Bytes come back as they are: no truncation at the NUL, no re-encoding. */
	g_assert_cmpmem(g_bytes_get_data(ssid, NULL), g_bytes_get_size(ssid), ies + 2, 32);
}

static void test_oversize_ssid_rejected(void)
{
	uint8_t ies[2 + 33];
	const uint8_t *data;
	size_t len;
	g_autoptr(GBytes) ssid = NULL;

	memset(ies, 'A', sizeof(ies));
	ies[0] = 0x00;
	ies[1] = 33;
	g_assert_false(find_ssid(ies, sizeof(ies), &ssid));
	/* The element itself is well formed; only the SSID rule refuses it. */
	g_assert_true(rv_ie_find(ies, sizeof(ies), 0, &data, &len));
	g_assert_cmpuint(len, ==, 33);
}

static void test_every_prefix(void)
{
	const uint8_t ies[] = { 0x01, 0x04, 0x82, 0x84, 0x8b, 0x96,
				0x00, 0x08, 'C', 'a', 'f', 'e', 'W', 'i', 'F', 'i',
				0x30, 0x02, 0x01, 0x00 };

	/* A prefix finds the SSID only when it holds the whole element. */
	for (size_t n = 0; n <= sizeof(ies); n++) {
		g_autoptr(GBytes) ssid = NULL;
		gboolean found = find_ssid(ies, n, &ssid);

		g_assert_cmpint(found, ==, n >= 16);
	}
}

static void test_random_buffers(void)
{
	GRand *rand = g_rand_new_with_seed(4);

	/* Random bytes: whatever comes back must lie inside the buffer (checked in
	 * find_ssid) and respect the 32-byte limit. */
	for (int i = 0; i < 20000; i++) {
		size_t len = (size_t)g_rand_int_range(rand, 0, 300);
		g_autofree uint8_t *buf = g_malloc(len ? len : 1);
		g_autoptr(GBytes) ssid = NULL;

		for (size_t j = 0; j < len; j++)
			buf[j] = (uint8_t)g_rand_int_range(rand, 0, 256);
		/* Bias towards small lengths so that walks get long. */
		for (size_t j = 1; j < len; j += 2)
			if (g_rand_boolean(rand))
				buf[j] = (uint8_t)g_rand_int_range(rand, 0, 40);
		if (find_ssid(buf, len, &ssid))
			g_assert_cmpuint(g_bytes_get_size(ssid), <=, 32);
		(void)rv_ie_well_formed(buf, len);
	}
	g_rand_free(rand);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ie/ssid-after-other-elements", test_ssid_after_other_elements);
	g_test_add_func("/ie/empty-and-null", test_empty_and_null);
	g_test_add_func("/ie/truncated-header", test_truncated_header);
	g_test_add_func("/ie/length-past-end", test_length_past_end);
	g_test_add_func("/ie/malformed-before-ssid", test_malformed_before_ssid);
	g_test_add_func("/ie/zero-length-ssid", test_zero_length_ssid);
	g_test_add_func("/ie/32-byte-binary-ssid", test_32_byte_binary_ssid);
	g_test_add_func("/ie/oversize-ssid-rejected", test_oversize_ssid_rejected);
	g_test_add_func("/ie/every-prefix", test_every_prefix);
	g_test_add_func("/ie/random-buffers", test_random_buffers);
	return g_test_run();
}
