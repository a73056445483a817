/* bad-abi.c - a plugin built for another roamvpnd (RV_BACKEND_ABI + 1): the daemon
 * must refuse its backend, say so in --check, and keep every other backend. */
#include "config.h"

#include <gmodule.h>

#include "backend.h"

static int never_start(struct rv_tunnel *t, const void *config, const struct rv_link *trigger,
		       GError **error)
{
	return -1;
}

static void never_stop(struct rv_tunnel *t)
{
}

static const struct rv_backend future_backend = {
	.name = "future",
	.abi = RV_BACKEND_ABI + 1,
	.start = never_start,
	.stop = never_stop,
};

G_MODULE_EXPORT void roamvpn_plugin_init(void);

G_MODULE_EXPORT void roamvpn_plugin_init(void)
{
	rv_backend_register(&future_backend);
}
