/*
 * The plugin-call record, fatal-signal handler and watchdog of rlax_guard.h.
 *
 * Each thread that calls a plugin owns one slot of a fixed table (claimed on its first call,
 * released by a pthread key destructor when the thread ends). The slot holds the plugin and
 * operation in flight, whether the watchdog watches it, and a sequence number bumped on
 * every enter and exit, so the watchdog can tell "the same call is still running" from "a new
 * call started" without reading a clock on the hot path.
 *
 * The signal handler only reads its own thread's slot, formats into a stack buffer by hand and
 * calls write(2) and _exit(2): async-signal-safe functions only.
 */
#define _GNU_SOURCE
#include "rlax_guard.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define RLAX_GUARD_SLOTS 1024
#define RLAX_GUARD_ALTSTACK (64 * 1024)

struct slot {
  atomic_int owner; /* 0 free, 1 taken */
  _Atomic(const char *) plugin;
  _Atomic(const char *) operation;
  atomic_int watched;
  atomic_uint_fast64_t seq;
  atomic_int tid;
  void *altstack; /* ours, or NULL when the thread had one already */
};

static struct slot slots[RLAX_GUARD_SLOTS];
static __thread struct slot *tls_slot __attribute__((tls_model("initial-exec")));
static pthread_key_t slot_key;
static pthread_once_t slot_key_once = PTHREAD_ONCE_INIT;

static void install_altstack(struct slot *s) {
  stack_t current;
  if (sigaltstack(NULL, &current) == 0 && !(current.ss_flags & SS_DISABLE)) return;
  void *mem = malloc(RLAX_GUARD_ALTSTACK);
  if (!mem) return;
  stack_t st = {.ss_sp = mem, .ss_size = RLAX_GUARD_ALTSTACK, .ss_flags = 0};
  if (sigaltstack(&st, NULL) == 0) s->altstack = mem;
  else free(mem);
}

static void release_slot(void *p) {
  struct slot *s = p;
  if (!s) return;
  if (s->altstack) {
    stack_t st = {.ss_flags = SS_DISABLE};
    stack_t current;
    if (sigaltstack(NULL, &current) == 0 && current.ss_sp == s->altstack) sigaltstack(&st, NULL);
    free(s->altstack);
    s->altstack = NULL;
  }
  atomic_store_explicit(&s->plugin, NULL, memory_order_relaxed);
  atomic_store_explicit(&s->operation, NULL, memory_order_relaxed);
  atomic_fetch_add_explicit(&s->seq, 1, memory_order_relaxed);
  tls_slot = NULL;
  atomic_store_explicit(&s->owner, 0, memory_order_release);
}

static void make_key(void) { pthread_key_create(&slot_key, release_slot); }

static struct slot *claim(void) {
  pthread_once(&slot_key_once, make_key);
  for (int i = 0; i < RLAX_GUARD_SLOTS; i++) {
    int expected = 0;
    if (atomic_compare_exchange_strong(&slots[i].owner, &expected, 1)) {
      struct slot *s = &slots[i];
      atomic_store_explicit(&s->plugin, NULL, memory_order_relaxed);
      atomic_store_explicit(&s->operation, NULL, memory_order_relaxed);
      atomic_store_explicit(&s->tid, (int)syscall(SYS_gettid), memory_order_relaxed);
      s->altstack = NULL;
      install_altstack(s);
      tls_slot = s;
      pthread_setspecific(slot_key, s);
      return s;
    }
  }
  return NULL; /* more threads than slots: calls on this thread go unrecorded */
}

void rlax_guard_enter(const char *plugin, const char *operation, int32_t watched, rlax_guard_frame *saved) {
  struct slot *s = tls_slot;
  if (!s) s = claim();
  if (!s) {
    saved->valid = 0;
    return;
  }
  saved->valid = 1;
  saved->plugin = atomic_load_explicit(&s->plugin, memory_order_relaxed);
  saved->operation = atomic_load_explicit(&s->operation, memory_order_relaxed);
  saved->watched = atomic_load_explicit(&s->watched, memory_order_relaxed);
  atomic_store_explicit(&s->operation, operation, memory_order_relaxed);
  atomic_store_explicit(&s->watched, watched, memory_order_relaxed);
  atomic_store_explicit(&s->plugin, plugin, memory_order_relaxed);
  atomic_fetch_add_explicit(&s->seq, 1, memory_order_release);
  atomic_signal_fence(memory_order_seq_cst);
}

void rlax_guard_exit(const rlax_guard_frame *saved) {
  struct slot *s = tls_slot;
  if (!s || !saved->valid) return;
  atomic_signal_fence(memory_order_seq_cst);
  atomic_store_explicit(&s->plugin, saved->plugin, memory_order_relaxed);
  atomic_store_explicit(&s->operation, saved->operation, memory_order_relaxed);
  atomic_store_explicit(&s->watched, saved->watched, memory_order_relaxed);
  atomic_fetch_add_explicit(&s->seq, 1, memory_order_release);
}

const char *rlax_guard_current_plugin(void) {
  return tls_slot ? atomic_load_explicit(&tls_slot->plugin, memory_order_relaxed) : NULL;
}

const char *rlax_guard_current_operation(void) {
  return tls_slot ? atomic_load_explicit(&tls_slot->operation, memory_order_relaxed) : NULL;
}

void rlax_guard_name_thread(const char *name) {
  char short_name[16];
  snprintf(short_name, sizeof short_name, "%s", name);
  prctl(PR_SET_NAME, (unsigned long)short_name, 0, 0, 0);
}

/* ---- the fatal-signal handler: async-signal-safe only ---- */

struct line {
  char text[1024];
  size_t len;
};

static void put(struct line *l, const char *s) {
  if (!s) s = "(null)";
  while (*s && l->len < sizeof l->text - 2) l->text[l->len++] = *s++;
}

static void put_int(struct line *l, long v) {
  char digits[24];
  int n = 0;
  unsigned long u = v < 0 ? (unsigned long)(-v) : (unsigned long)v;
  do {
    digits[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u && n < 23);
  if (v < 0) put(l, "-");
  while (n > 0) {
    char c[2] = {digits[--n], 0};
    put(l, c);
  }
}

static void flush_line(struct line *l) {
  l->text[l->len++] = '\n';
  size_t off = 0;
  while (off < l->len) {
    ssize_t w = write(STDERR_FILENO, l->text + off, l->len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    off += (size_t)w;
  }
}

static const char *signal_name(int sig) {
  switch (sig) {
  case SIGSEGV: return "SIGSEGV";
  case SIGBUS: return "SIGBUS";
  case SIGILL: return "SIGILL";
  case SIGFPE: return "SIGFPE";
  case SIGABRT: return "SIGABRT";
  default: return "signal";
  }
}

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
static atomic_int crashing;

static void on_fatal_signal(int sig, siginfo_t *info, void *context) {
  (void)info;
  (void)context;
  int saved_errno = errno;
  if (atomic_exchange(&crashing, 1)) {
    /* another thread is already reporting its crash: let it finish */
    for (;;) pause();
  }
  struct slot *s = tls_slot;
  const char *plugin = s ? atomic_load_explicit(&s->plugin, memory_order_relaxed) : NULL;
  const char *operation = s ? atomic_load_explicit(&s->operation, memory_order_relaxed) : NULL;
  char thread[17] = {0};
  prctl(PR_GET_NAME, (unsigned long)thread, 0, 0, 0);
  struct line l = {.len = 0};
  put(&l, "rlax: fatal: ");
  if (plugin) {
    put(&l, "plugin '");
    put(&l, plugin);
    put(&l, "' crashed with signal ");
  } else {
    put(&l, "the host crashed with signal ");
  }
  put_int(&l, sig);
  put(&l, " (");
  put(&l, signal_name(sig));
  put(&l, ")");
  if (plugin) {
    put(&l, " during '");
    put(&l, operation ? operation : "?");
    put(&l, "'");
  } else {
    put(&l, ", outside any plugin call,");
  }
  put(&l, " on thread '");
  put(&l, thread);
  put(&l, "'");
  if (plugin) {
    put(&l, "; exiting with status ");
    put_int(&l, 128 + sig);
    flush_line(&l);
    _exit(128 + sig);
  }
  flush_line(&l);
  /* A host bug: die of the signal itself, at once (no backtracer that could hang). */
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, NULL);
  errno = saved_errno;
  raise(sig);
}

int rlax_guard_install_crash_handlers(void) {
  static struct slot *main_slot;
  if (!tls_slot) main_slot = claim(); /* the calling thread gets its slot and alternate stack */
  (void)main_slot;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fatal_signal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++) sigaddset(&sa.sa_mask, fatal_signals[i]);
  for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++) {
    if (sigaction(fatal_signals[i], &sa, NULL) != 0) return -1;
  }
  return 0;
}

/* ---- the watchdog ---- */

static _Atomic double watchdog_deadline;
static atomic_int watchdog_status = 124;
static atomic_int watchdog_started;

struct watch_state {
  uint64_t seq;
  double since;
  int armed;
};

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void thread_name_of(int tid, char *out, size_t size) {
  snprintf(out, size, "?");
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/comm", tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = read(fd, out, size - 1);
  close(fd);
  if (n <= 0) {
    snprintf(out, size, "?");
    return;
  }
  out[n] = 0;
  char *nl = strchr(out, '\n');
  if (nl) *nl = 0;
}

static void *watchdog_main(void *arg) {
  (void)arg;
  prctl(PR_SET_NAME, (unsigned long)"rlax-watchdog", 0, 0, 0);
  static struct watch_state state[RLAX_GUARD_SLOTS];
  for (;;) {
    double deadline = atomic_load(&watchdog_deadline);
    double period = deadline / 10;
    if (period < 0.05) period = 0.05;
    if (period > 1.0) period = 1.0;
    struct timespec ts = {.tv_sec = (time_t)period, .tv_nsec = (long)((period - (double)(time_t)period) * 1e9)};
    nanosleep(&ts, NULL);
    if (deadline <= 0) continue;
    double now = now_seconds();
    for (int i = 0; i < RLAX_GUARD_SLOTS; i++) {
      struct slot *s = &slots[i];
      struct watch_state *w = &state[i];
      if (!atomic_load_explicit(&s->owner, memory_order_acquire)) {
        w->armed = 0;
        continue;
      }
      uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
      const char *plugin = atomic_load_explicit(&s->plugin, memory_order_relaxed);
      const char *operation = atomic_load_explicit(&s->operation, memory_order_relaxed);
      int watched = atomic_load_explicit(&s->watched, memory_order_relaxed);
      if (atomic_load_explicit(&s->seq, memory_order_acquire) != seq || !plugin || !watched) {
        w->armed = 0;
        continue;
      }
      if (!w->armed || w->seq != seq) {
        w->armed = 1;
        w->seq = seq;
        w->since = now;
        continue;
      }
      if (now - w->since >= deadline) {
        char thread[64];
        thread_name_of(atomic_load(&s->tid), thread, sizeof thread);
        char message[1024];
        int status = atomic_load(&watchdog_status);
        int n = snprintf(message, sizeof message,
                         "rlax: fatal: plugin '%s' operation '%s' has not returned after %.0f s on thread '%s' "
                         "(deadline %g s, RLAX_PLUGIN_DEADLINE); exiting with status %d\n",
                         plugin, operation ? operation : "?", now - w->since, thread, deadline, status);
        if (n > (int)sizeof message - 1) n = (int)sizeof message - 1;
        if (n > 0) {
          ssize_t unused = write(STDERR_FILENO, message, (size_t)n);
          (void)unused;
        }
        _exit(status);
      }
    }
  }
  return NULL;
}

int rlax_guard_start_watchdog(double deadline_seconds, int exit_status) {
  atomic_store(&watchdog_deadline, deadline_seconds);
  atomic_store(&watchdog_status, exit_status);
  if (deadline_seconds <= 0) return 0;
  if (atomic_exchange(&watchdog_started, 1)) return 0;
  pthread_t thread;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int rc = pthread_create(&thread, &attr, watchdog_main, NULL);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    atomic_store(&watchdog_started, 0);
    return -1;
  }
  return 0;
}
