/* ini.h - a line-numbered INI reader for rule, tunnel and daemon configuration.
 *
 * GKeyFile would be the obvious choice, but it merges repeated sections (wg-quick
 * files repeat [Peer]), keeps no line numbers (every configuration error must say
 * FILE:LINE) and does not strip wg-style trailing comments. This reader keeps every
 * section and entry in file order with its line.
 *
 * Keys are declared once, in tables (the way systemd-networkd's gperf tables do):
 * {section, key, parser, offset, flags, data}. rv_ini_apply() walks a file against
 * such a table and is the one place that reports unknown sections and keys (with
 * the list of known keys), repeated keys and sections, missing required keys, and
 * that keeps values of secret keys out of every message. See docs/config-tables.md.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

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
/* Read and parse a configuration file (rv_ini_read_file's rules apply). */
struct rv_ini *rv_ini_load(const char *path, unsigned flags, GPtrArray *errors);
/* Limit on a configuration file's size: more is a mistake (or /dev/zero). */
#define RV_INI_MAX_FILE_SIZE (1024 * 1024)
/* Read a configuration file's text, refusing what is not a regular file (a FIFO
 * would block, a device never end), more than RV_INI_MAX_FILE_SIZE bytes and NUL
 * bytes (with their line). Never blocks: the file is opened O_NONBLOCK and checked
 * with fstat before a byte is read. Returns 0, or -ENOENT (nothing added to
 * errors, so callers can treat a missing file as they like) or another negative
 * errno with "FILE[:LINE]: message" in errors. *len may be NULL. */
int rv_ini_read_file(const char *path, char **text, gsize *len, GPtrArray *errors);
void rv_ini_free(struct rv_ini *ini);
typedef struct rv_ini rv_ini;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(rv_ini, rv_ini_free)

/* First section with this name, or NULL. */
struct rv_ini_section *rv_ini_find_section(const struct rv_ini *ini, const char *name);
/* Last entry with this key in the section (later assignments win), or NULL. */
struct rv_ini_entry *rv_ini_find_entry(const struct rv_ini_section *section,
				       const char *key);

/* A key as one word (letters, digits, '_', '-', '.'): safe to show in a message.
 * "PrivateKey yAnz...=" (the '=' of the key forgotten, base64 padding taken for
 * it) or "Password hunter2=" is not, and must not be echoed. */
bool rv_ini_key_is_word(const char *key);
/* "FILE:LINE: unknown key KEY= in [SECTION] (known: ...)", or, for a key that is
 * not one word, "... line N is not KEY=VALUE (not shown, it may hold a secret)".
 * known may be NULL. */
void rv_ini_unknown_key(GPtrArray *errors, const char *path, const struct rv_ini_entry *e,
			const char *section, const char *known);

/* Append "FILE:LINE: message" to errors. */
void rv_ini_error(GPtrArray *errors, const char *path, int line, const char *fmt, ...)
	G_GNUC_PRINTF(4, 5);

/* Secrets live in files only root can read: refuse group/world-readable or
 * non-root-owned files. Returns 0 or -EPERM/-errno with a message in errors. */
int rv_ini_check_secret_file(const char *path, GPtrArray *errors);

/* --- key tables -------------------------------------------------------------- */

enum rv_ini_key_flags {
	RV_INI_ONCE = 1 << 0,		/* a second assignment is an error */
	RV_INI_SECRET = 1 << 1,		/* the value is never shown in any message */
	RV_INI_LIST = 1 << 2,		/* the value is a list: the parser gets each item */
	RV_INI_LIST_COMMA = 1 << 3,	/* with RV_INI_LIST: items split on ',' (wg-quick), not blanks */
	RV_INI_LIST_EMPTY_OK = 1 << 4,	/* with RV_INI_LIST: "Key=" is not an error */
	RV_INI_REQUIRED = 1 << 5,	/* "[Section] has no Key=" when the section lacks it */
};

struct rv_ini_key;

/* What a parser is handed: the entry, and where it is going. */
struct rv_ini_value {
	const char *path;
	const struct rv_ini_section *section;
	const struct rv_ini_entry *entry;	/* key and line */
	const struct rv_ini_key *key;		/* the table row */
	const char *value;			/* the entry's value, or one item of a list */
	void *target;				/* the struct the table fills */
	GPtrArray *errors;
};

/* Parse v->value into field (target + offset). On a bad value report it with
 * rv_ini_bad_value() (never by printing v->value: the key may be secret) and
 * return false. */
typedef bool (*rv_ini_parse_fn)(const struct rv_ini_value *v, void *field);

struct rv_ini_key {
	const char *section;
	const char *key;
	rv_ini_parse_fn parse;
	size_t offset;			/* of the field in the target struct */
	unsigned flags;			/* enum rv_ini_key_flags */
	const void *data;		/* for the parser: bounds, choices, an enum value */
	const char *repeat_hint;	/* added to the RV_INI_ONCE error, e.g. "put all patterns on one line" */
};
/* One row; the field is given as TYPE, FIELD (offsetof), data may be NULL. */
#define RV_INI_KEY(section_, key_, parse_, type_, field_, flags_, data_) \
	{ .section = (section_), .key = (key_), .parse = (parse_), \
	  .offset = offsetof(type_, field_), .flags = (flags_), .data = (data_) }
/* Tables end with an all-zero row. */
#define RV_INI_KEYS_END { .key = NULL }

enum rv_ini_apply_flags {
	/* Section and key names compare case-insensitively (wg-quick does). */
	RV_INI_APPLY_CASE_INSENSITIVE = 1 << 0,
	/* Sections absent from the table are someone else's (a backend's): skip them. */
	RV_INI_APPLY_OTHER_SECTIONS = 1 << 1,
	/* Report unknown and repeated sections before any key (rule files), instead
	 * of everything in file order. */
	RV_INI_APPLY_SECTIONS_FIRST = 1 << 2,
	/* Sections may repeat; each is applied again ([Peer]; with one target that
	 * only makes sense for RV_INI_LIST keys). Default: "[S] repeated". */
	RV_INI_APPLY_REPEATED_SECTIONS = 1 << 3,
};

/* Apply the table to every section of the file that it names. Unknown sections
 * get "unknown section [S] (sections_hint)" unless RV_INI_APPLY_OTHER_SECTIONS.
 * Returns true when there was no error. */
bool rv_ini_apply(const struct rv_ini *ini, const struct rv_ini_key *table, void *target,
		  unsigned flags, const char *sections_hint, GPtrArray *errors);
/* Apply the table's rows for this section's name to one section (for files whose
 * sections each fill their own struct, like wg-quick's [Peer]s). */
bool rv_ini_apply_section(const char *path, const struct rv_ini_section *section,
			  const struct rv_ini_key *table, void *target, unsigned flags,
			  GPtrArray *errors);
/* Does the table declare this section? */
bool rv_ini_table_has_section(const struct rv_ini_key *table, const char *section,
			      unsigned flags);
/* Does the section hold a key the table flags RV_INI_SECRET? */
bool rv_ini_section_has_secret(const struct rv_ini_section *section,
			       const struct rv_ini_key *table, unsigned flags);

/* "FILE:LINE: Key=: 'VALUE' <what>", or "FILE:LINE: Key= <what>" for a secret key. */
void rv_ini_bad_value(const struct rv_ini_value *v, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* "FILE:LINE: <message>" at the entry's line; the message must not hold a secret. */
void rv_ini_value_error(const struct rv_ini_value *v, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Ready-made parsers. */
struct rv_ini_uint_range {
	guint64 min, max;
	const char *what;	/* "a number of milliseconds"; NULL: "a number" */
};
bool rv_ini_parse_string(const struct rv_ini_value *v, void *field);	/* char **, replaced */
bool rv_ini_parse_bool(const struct rv_ini_value *v, void *field);	/* bool *, yes/no/true/false/on/off/1/0 */
bool rv_ini_parse_uint(const struct rv_ini_value *v, void *field);	/* guint *, data: rv_ini_uint_range */
bool rv_ini_parse_choice(const struct rv_ini_value *v, void *field);	/* char **, data: NULL-ended char *[] */
bool rv_ini_parse_strv(const struct rv_ini_value *v, void *field);	/* char ** (strv), items appended */
/* yes/no/true/false/on/off/1/0, case-insensitive. */
bool rv_ini_bool_from_string(const char *text, bool *out);
