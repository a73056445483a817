/* error.h - roamvpn's GError domain. Codes map 1:1 to D-Bus error names
 * net.roamvpn1.Error.<Name> (see rv_error_dbus_name). Functions that can fail
 * return a negative errno and, where a caller needs words, set a GError too. */
#pragma once

#include <glib.h>

#define RV_ERROR (rv_error_quark())
GQuark rv_error_quark(void);

enum rv_error_code {
	RV_ERROR_FAILED,		/* net.roamvpn1.Error.Failed */
	RV_ERROR_INVALID,		/* .InvalidArguments: bad input or configuration */
	RV_ERROR_NOT_FOUND,		/* .NotFound: no such tunnel or link */
	RV_ERROR_BUSY,			/* .InProgress */
	RV_ERROR_PERMISSION,		/* .PermissionDenied */
	RV_ERROR_UNSUPPORTED,		/* .NotSupported */
};

const char *rv_error_dbus_name(int code);
/* -EINVAL etc. for a code, for callers that return errno. */
int rv_error_to_errno(int code);
