/* cpu-blas: the OpenBLAS entry points the plugin uses, resolved at run time (openblas.c). */
#ifndef CPU_BLAS_OPENBLAS_H
#define CPU_BLAS_OPENBLAS_H

#include <cblas.h>

typedef struct cb_openblas_api {
  __typeof__(cblas_sgemm) *sgemm;
  char *(*get_config)(void);
  int (*get_num_threads)(void);
  void (*set_num_threads)(int);
} cb_openblas_api;

/* Filled by cb_openblas_load; valid once it has returned NULL. */
extern cb_openblas_api cb_openblas;

/* Loads OpenBLAS once per process (thread-safe) after choosing its kernels; NULL on success,
 * else a message saying what is missing. */
const char *cb_openblas_load(void);

/* How the kernels were chosen, for the backend's name. */
const char *cb_openblas_chosen_by(void);

#endif /* CPU_BLAS_OPENBLAS_H */
