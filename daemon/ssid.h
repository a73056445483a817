/* ssid.h - SSIDs as what they are: 0..32 untrusted bytes.
 *
 * Shown escaped the way iw does it (printable ASCII as is, everything else, plus
 * backslash and double quote, as \xNN), never interpreted, never given to a shell.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RV_SSID_MAX_LEN 32

/* Escaped text for ssid[0..len); never NULL. */
char *rv_ssid_escape(const uint8_t *ssid, size_t len);
/* A name that should be text but is untrusted bytes (an interface name, a rule
 * file's name) for D-Bus, logs and JSON: the string itself when it is valid UTF-8;
 * otherwise every byte that is not part of a valid UTF-8 sequence, and every
 * backslash, as \xNN. Never NULL (NULL gives ""). */
char *rv_text_escape(const char *bytes);
/* Inverse of rv_ssid_escape (accepts \xNN, \\, \" and raw bytes); NULL on a bad escape
 * or a result longer than RV_SSID_MAX_LEN. */
GBytes *rv_ssid_unescape(const char *text, GError **error);
