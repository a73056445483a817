/* fuzz-uapi.c - libFuzzer target for the engine's UAPI server side: request
 * framing, the "set" parser, and request dispatch with a stand-in device.
 * Build: CC=clang meson setup build-fuzz -Dfuzzing=true; ninja -C build-fuzz
 * fuzz/fuzz-uapi; ./build-fuzz/fuzz/fuzz-uapi -max_total_time=60 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "uapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fake_get(void *d, struct rv_buf *out)
{
	rv_buf_printf(out, "listen_port=1\n");
}

static int fake_set(void *d, const struct rv_uapi_set *set)
{
	size_t i, j, n = 0;

	/* touch everything the parser produced, so ASan sees bad bounds */
	for (i = 0; i < set->n_peers; i++)
		for (j = 0; j < set->peers[i].n_allowed_ips; j++)
			n += set->peers[i].allowed_ips[j].cidr + set->peers[i].allowed_ips[j].addr[15];
	return n == 12345 ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct rv_uapi_handler h = { .data = NULL, .get = fake_get, .set = fake_set };
	struct rv_buf out = { 0 };
	struct rv_uapi_set set;
	const char *p = (const char *)data;
	size_t left = size;

	if (rv_uapi_parse_set(p, size, &set) == 0)
		rv_uapi_set_clear(&set);
	/* as the server does: one request after another */
	while (left) {
		size_t len = rv_uapi_request_length(p, left);

		if (!len)
			break;
		if (!rv_uapi_handle_request(&h, p, len, &out))
			break;
		p += len;
		left -= len;
	}
	rv_buf_free(&out);
	return 0;
}
