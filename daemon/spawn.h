/* spawn.h - child processes of the daemon (backends' programs).
 *
 * A child runs in a session and process group of its own, dies with the daemon
 * (PR_SET_PDEATHSIG), gets exactly the environment it is given, never a shell,
 * stdin from /dev/null (or a secret), and its stdout/stderr lines go to our log
 * prefixed with its name (as escaped text: child output is untrusted bytes).
 * The group is the unit of ending: when the child exits (or is terminated), what
 * it left in its group gets SIGTERM and, after the grace period, SIGKILL, so a
 * grandchild that ignores SIGTERM does not outlive its tunnel or the daemon. A
 * process that leaves the group (setsid(), daemon()) is beyond our reach: run
 * programs in the foreground.
 */
#pragma once

#include <glib.h>
#include <sys/types.h>

struct rv_child;

/* wait_status as from waitpid(). The child object is freed after the callback. */
typedef void (*rv_child_exit_fn)(struct rv_child *child, int wait_status, void *user_data);

struct rv_child *rv_child_spawn(const char *name, char **argv, char **envp,
				rv_child_exit_fn on_exit, void *user_data, GError **error);
/* As rv_child_spawn, with secret (len bytes) readable on the child's stdin, then end
 * of file: how a password reaches a program without argv or the environment. The
 * bytes go through a pipe written before the child starts (at most 64 KiB). */
struct rv_child *rv_child_spawn_with_stdin(const char *name, char **argv, char **envp,
					   const void *secret, gsize len,
					   rv_child_exit_fn on_exit, void *user_data, GError **error);
/* Each line the child writes (stdout or stderr, without the newline, raw bytes) is
 * also handed to fn, before it is logged (escaped). */
typedef void (*rv_child_output_fn)(struct rv_child *child, const char *line, gsize len,
				   void *user_data);
void rv_child_set_output_handler(struct rv_child *child, rv_child_output_fn fn, void *user_data);
#define RV_CHILD_GRACE_MS 5000
/* SIGTERM to the child's process group, SIGKILL to the group after grace_ms.
 * on_exit still runs. */
void rv_child_terminate(struct rv_child *child, guint grace_ms);
pid_t rv_child_pid(const struct rv_child *child);
/* When this child exits, leave what it started in its group running (Type=oneshot:
 * Start= may leave the tunnel's daemon behind); the owner ends the group later with
 * rv_process_group_terminate(rv_child_pid(child), ...). */
void rv_child_keep_group(struct rv_child *child);
/* SIGTERM to the process group pgid if it still has members, SIGKILL to it after
 * grace_ms (also at the daemon's exit, if that comes first). */
void rv_process_group_terminate(pid_t pgid, guint grace_ms);
/* Reports from a child's helper (roamvpn-hook, run by vpnc or pppd as their
 * script) reach the child's owner through this handler. argv is the hook's
 * argv, env its environment (name -> value). Return 0 to accept, or a negative
 * errno with error set. */
typedef int (*rv_child_report_fn)(struct rv_child *child, char **argv, GHashTable *env,
				  void *user_data, GError **error);
void rv_child_set_report_handler(struct rv_child *child, rv_child_report_fn fn,
				 void *user_data);
/* The child that pid is (or descends from), or NULL: how a report is tied to the
 * child we started, from the kernel's word on who connected (SO_PEERCRED). */
struct rv_child *rv_child_find_ancestor(pid_t pid);
/* Deliver a report to the child's handler (-ENOTSUP when it has none). */
int rv_child_report(struct rv_child *child, char **argv, GHashTable *env, GError **error);

/* "exited with status 3", "killed by signal 9 (Killed)". */
char *rv_wait_status_describe(int wait_status);
/* A minimal environment: PATH and LANG=C.UTF-8 plus extra (NULL-terminated
 * "KEY=VALUE" strings, may be NULL). */
char **rv_child_base_env(char **extra);
