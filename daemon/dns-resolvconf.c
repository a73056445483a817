/* dns-resolvconf.c - the "resolvconf" DNS method (being written). */
#include "config.h"

#include <errno.h>

#include "dns-private.h"
#include "error.h"

static void *stub_create(const struct rv_dns_paths *paths, DBusConnection *bus, GError **error)
{
	g_set_error(error, RV_ERROR, RV_ERROR_UNSUPPORTED, "DNS method resolvconf not built yet");
	return NULL;
}

static void stub_destroy(void *priv)
{
}

static int stub_apply(void *priv, const struct rv_dns_request *req, GError **error)
{
	return -EOPNOTSUPP;
}

static int stub_revert(void *priv, const char *key, GError **error)
{
	return 0;
}

const struct rv_dns_ops rv_dns_resolvconf_ops = {
	.name = "resolvconf",
	.create = stub_create,
	.destroy = stub_destroy,
	.apply = stub_apply,
	.revert = stub_revert,
};
