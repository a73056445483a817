/* ini.h - a line-numbered INI reader for rule, tunnel and daemon configuration.
 *
 * GKeyFile would be the obvious choice, but it merges repeated sections (wg-quick
 * files repeat [Peer]), keeps no line numbers (every configuration error must say
 * FILE:LINE) and does not strip wg-style trailing comments. This reader keeps every
 * section and entry in file order with its line, and nothing more: values are
 * interpreted by their owners.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

struct rv_ini_entry {
	char *key;
	char *value;		/* trimmed; "" for "Key=" */
	int line;
};

struct rv_ini_section {
	char *name;
	int line;
	GPtrArray *entries;	/* struct rv_ini_entry * */
};

struct rv_ini {
	char *path;
	GPtrArray *sections;	/* struct rv_ini_section * */
};

/* Flags for rv_ini_parse. */
enum {
	/* '#' starts a comment anywhere on a line (wg-quick), not only at its start. */
	RV_INI_INLINE_COMMENTS = 1 << 0,
};

/* Parse text (for tests) or a file. Syntax errors are appended to errors as
 * "FILE:LINE: message" (when errors is non-NULL) and make the call return NULL. */
struct rv_ini *rv_ini_parse(const char *path, const char *text, unsigned flags,
			    GPtrArray *errors);
struct rv_ini *rv_ini_load(const char *path, unsigned flags, GPtrArray *errors);
void rv_ini_free(struct rv_ini *ini);
typedef struct rv_ini rv_ini;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(rv_ini, rv_ini_free)

/* First section with this name, or NULL. */
struct rv_ini_section *rv_ini_find_section(const struct rv_ini *ini, const char *name);
/* Last entry with this key in the section (later assignments win), or NULL. */
struct rv_ini_entry *rv_ini_find_entry(const struct rv_ini_section *section,
				       const char *key);

/* Append "FILE:LINE: message" to errors. */
void rv_ini_error(GPtrArray *errors, const char *path, int line, const char *fmt, ...)
	G_GNUC_PRINTF(4, 5);

/* Secrets live in files only root can read: refuse group/world-readable or
 * non-root-owned files. Returns 0 or -EPERM/-errno with a message in errors. */
int rv_ini_check_secret_file(const char *path, GPtrArray *errors);
