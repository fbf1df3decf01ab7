/*
 * cpu-blas: loads OpenBLAS at run time, choosing its kernel family first.
 *
 * Why not link it: OpenBLAS (DYNAMIC_ARCH builds, as Debian ships) picks its kernels once, in
 * its library constructor, from the CPU model number. A model it does not know gets the
 * generic Prescott (SSE3) kernels: Debian's 0.3.21 on an Emerald Rapids VM (family 6 model
 * 207) runs sgemm at ~28 GFLOP/s instead of ~175 with its Cooperlake (AVX-512) kernels, 6x
 * slower. The constructor reads OPENBLAS_CORETYPE, so the plugin sets it from the CPU's
 * features before loading the library; a value the user set wins.
 */
#include "openblas.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cb_openblas_api cb_openblas;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[512];
static char chosen_by[64];

/* The best OpenBLAS kernel family for the CPU's features, or NULL for OpenBLAS's own choice.
 * __builtin_cpu_supports also checks that the OS saves the AVX/AVX-512 registers. */
static const char *kernel_for_this_cpu(void) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512bf16")) return "Cooperlake";
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
  return NULL;
}

#define RESOLVE(field, symbol)                                                                \
  do {                                                                                        \
    *(void **)&cb_openblas.field = dlsym(lib, symbol);                                        \
    if (!cb_openblas.field) {                                                                 \
      snprintf(load_error, sizeof load_error, "%s has no symbol %s", name, symbol);           \
      return;                                                                                 \
    }                                                                                         \
  } while (0)

static void load(void) {
  static const char *const names[] = {"libopenblas.so.0", "libopenblas.so"};
  const char *user = getenv("OPENBLAS_CORETYPE");
  const char *kernel = user ? NULL : kernel_for_this_cpu();
  /* Already in the process (linked by a host, or loaded by another plugin): its kernels were
   * chosen at that load and this choice cannot apply. */
  void *lib = NULL;
  const char *name = NULL;
  for (size_t i = 0; i < sizeof names / sizeof names[0] && !lib; i++)
    if ((lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD))) name = names[i];
  if (lib) {
    snprintf(chosen_by, sizeof chosen_by, "kernels chosen before cpu-blas loaded");
  } else {
    if (kernel) setenv("OPENBLAS_CORETYPE", kernel, 0);
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !lib; i++)
      if ((lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL))) name = names[i];
    /* The variable did its work in the constructor; the host's environment is left as found. */
    if (kernel) unsetenv("OPENBLAS_CORETYPE");
    snprintf(chosen_by, sizeof chosen_by, "%s",
             user ? "kernels from OPENBLAS_CORETYPE"
                  : kernel ? "kernels chosen by cpu-blas from CPU features"
                           : "kernels chosen by OpenBLAS");
  }
  if (!lib) {
    const char *why = dlerror();
    snprintf(load_error, sizeof load_error,
             "cannot load OpenBLAS (tried libopenblas.so.0, libopenblas.so): %s; install "
             "libopenblas0 (Debian/Ubuntu: apt-get install libopenblas0)",
             why ? why : "not found");
    return;
  }
  RESOLVE(sgemm, "cblas_sgemm");
  RESOLVE(get_config, "openblas_get_config");
  RESOLVE(get_num_threads, "openblas_get_num_threads");
  RESOLVE(set_num_threads, "openblas_set_num_threads");
}

const char *cb_openblas_load(void) {
  pthread_once(&load_once, load);
  return load_error[0] ? load_error : NULL;
}

const char *cb_openblas_chosen_by(void) { return chosen_by; }
