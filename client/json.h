/* json.h - writing JSON for roamvpnctl --json.
 *
 * Only writing, and only what roamvpnctl needs: strings escaped per RFC 8259
 * (invalid UTF-8 becomes U+FFFD, never raw bytes), GVariants from the bus as
 * JSON values, and property dicts with snake_case keys. SSIDs (byte arrays named
 * "SSID") become "ssid" (escaped text, as rv_ssid_escape shows it) plus
 * "ssid_bytes" (the raw bytes as numbers).
 */
#pragma once

#include <glib.h>

/* Append s (len bytes, or NUL-terminated if len < 0) as a quoted JSON string. */
void rv_json_append_string(GString *out, const char *s, gssize len);
/* Append any GVariant: booleans, numbers, strings, arrays (byte arrays as arrays
 * of numbers), dicts with string keys as objects, tuples as arrays, variants
 * unwrapped, maybe as null. */
void rv_json_append_value(GString *out, GVariant *value);
/* "DNSMethod" -> "dns_method", "GatewayMAC" -> "gateway_mac", "SSID" -> "ssid". */
char *rv_json_snake_case(const char *name);
/* Append an a{sv} property dict as an object with snake_case keys; extra is
 * appended inside the object before the closing brace (NULL: nothing), e.g.
 * "\"path\":\"/x\"". */
void rv_json_append_properties(GString *out, GVariant *props, const char *extra);
