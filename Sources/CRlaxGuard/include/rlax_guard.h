/*
 * rlax_guard.h — the host's record of the plugin call in flight on each thread, the fatal
 * signal handler that names it, and the watchdog that ends a process whose plugin call does
 * not return. Host-side only (never part of the plugin ABI in include/rlax/).
 *
 * Every call from the Swift wrappers into a plugin is bracketed by rlax_guard_enter /
 * rlax_guard_exit. The record is a few relaxed stores into a per-thread slot (no locks, no
 * allocation after a thread's first call), so it is cheap enough for every backend op.
 */
#ifndef RLAX_GUARD_H
#define RLAX_GUARD_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What enter saves and exit restores (calls may nest). */
typedef struct rlax_guard_frame {
  const char *plugin;
  const char *operation;
  int32_t watched;
  int32_t valid;
} rlax_guard_frame;

/* Marks a call into `plugin` (a NUL-terminated string that stays valid for the life of the
 * process) running `operation` (likewise) on this thread. `watched` = 0 exempts the call from
 * the watchdog (blocking waits with their own timeout). */
void rlax_guard_enter(const char *plugin, const char *operation, int32_t watched, rlax_guard_frame *saved);
void rlax_guard_exit(const rlax_guard_frame *saved);

/* The plugin and operation in flight on this thread (NULL when none): for tests. */
const char *rlax_guard_current_plugin(void);
const char *rlax_guard_current_operation(void);

/* Names the calling thread for the OS (at most 15 bytes kept), as crash and watchdog reports
 * print it. */
void rlax_guard_name_thread(const char *name);

/* Installs handlers for SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT (on an alternate signal
 * stack) that write one line naming the plugin and operation in flight on the crashing thread
 * with write(2) and end the process with _exit(128 + signal). A crash outside any plugin call
 * is reported as a host crash and re-raised with the default action. Returns 0 on success. */
int rlax_guard_install_crash_handlers(void);

/* Starts the watchdog thread: a watched plugin call in flight for `deadline_seconds` or more
 * ends the process with a message naming the plugin and operation and _exit(exit_status).
 * deadline_seconds <= 0 does nothing. A second call changes the deadline. Returns 0 on
 * success. */
int rlax_guard_start_watchdog(double deadline_seconds, int exit_status);

#ifdef __cplusplus
}
#endif
#endif
