/* json.h - writing JSON for roamvpnctl --json.
 *
 * Only writing, and only what roamvpnctl needs: strings escaped per RFC 8259
 * (invalid UTF-8 becomes U+FFFD, never raw bytes), GVariants from the bus as
 * JSON values, and property dicts keyed by the D-Bus property names (the
 * vocabulary of the docs/ API files, so scripts learn only one). SSIDs (byte
 * arrays named "SSID") become "SSID" (escaped text, as rv_ssid_escape shows it)
 * plus "SSIDBytes" (the raw bytes as numbers).
 */
#pragma once

#include <glib.h>

/* Append s (len bytes, or NUL-terminated if len < 0) as a quoted JSON string. */
void rv_json_append_string(GString *out, const char *s, gssize len);
/* Append any GVariant: booleans, numbers, strings, arrays (byte arrays as arrays
 * of numbers), dicts with string keys as objects, tuples as arrays, variants
 * unwrapped, maybe as null. */
void rv_json_append_value(GString *out, GVariant *value);
/* Append an a{sv} property dict as an object; extra is appended inside the
 * object before the closing brace (NULL: nothing), e.g. "\"Path\":\"/x\"". */
void rv_json_append_properties(GString *out, GVariant *props, const char *extra);
