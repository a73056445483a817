/* error.c - the roamvpn GError domain (see error.h). */
#include "config.h"

#include <errno.h>

#include "error.h"

G_DEFINE_QUARK(roamvpn-error-quark, rv_error)

const char *rv_error_dbus_name(int code)
{
	switch (code) {
	case RV_ERROR_INVALID: return "net.roamvpn1.Error.InvalidArguments";
	case RV_ERROR_NOT_FOUND: return "net.roamvpn1.Error.NotFound";
	case RV_ERROR_BUSY: return "net.roamvpn1.Error.InProgress";
	case RV_ERROR_PERMISSION: return "net.roamvpn1.Error.PermissionDenied";
	case RV_ERROR_UNSUPPORTED: return "net.roamvpn1.Error.NotSupported";
	default: return "net.roamvpn1.Error.Failed";
	}
}

int rv_error_to_errno(int code)
{
	switch (code) {
	case RV_ERROR_INVALID: return -EINVAL;
	case RV_ERROR_NOT_FOUND: return -ENOENT;
	case RV_ERROR_BUSY: return -EBUSY;
	case RV_ERROR_PERMISSION: return -EPERM;
	case RV_ERROR_UNSUPPORTED: return -EOPNOTSUPP;
	default: return -EIO;
	}
}
