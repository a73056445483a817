/* log.c - roamvpn-engine's log lines on stderr, in wireguard-go's shape
 * ("DEBUG: (wg0) 2026/11/22 21:08:36 message"); the level comes from
 * LOG_LEVEL (main.c). */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "device.h"

int rv_log_level = RV_LOG_ERROR;
static char log_ifname[IFNAMSIZ] = "?";

void rv_log(int level, const char *fmt, ...)
{
	char msg[1024], stamp[32];
	struct tm tm;
	time_t t = time(NULL);
	va_list ap;

	if (level > rv_log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y/%m/%d %H:%M:%S", &tm);
	fprintf(stderr, "%s: (%s) %s %s\n", level <= RV_LOG_ERROR ? "ERROR" : "DEBUG",
		log_ifname, stamp, msg);
}

void rv_log_set_ifname(const char *ifname)
{
	snprintf(log_ifname, sizeof(log_ifname), "%s", ifname);
}
