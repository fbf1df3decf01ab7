/* Reward functions for RlaxRewardsTests, built with plain `cc -shared -fPIC` and called
 * through libffi by ForeignFunction / rlax-reward-host with no glue code. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 if the completion is the sum asked for by a prompt "A+B=", else 0. */
double sum_reward(const char *prompt, const char *completion) {
  long a = 0, b = 0;
  if (sscanf(prompt, "%ld+%ld=", &a, &b) != 2) return 0.0;
  char *end = NULL;
  long got = strtol(completion, &end, 10);
  if (end == completion || *end != '\0') return 0.0;
  return got == a + b ? 1.0 : 0.0;
}

/* 1 if the completion equals the reference answer, else 0. */
double answer_match(const char *completion, const char *answer) {
  return strcmp(completion, answer) == 0 ? 1.0 : 0.0;
}

/* The completion's length in bytes. */
int32_t length_reward(const char *completion) { return (int32_t)strlen(completion); }

/* Minus the length: checks sign extension of narrow integer results. */
int32_t negative_length(const char *completion) { return -(int32_t)strlen(completion); }

/* A value that needs all 64 bits. */
int64_t big_reward(const char *completion) { return ((int64_t)1 << 40) + (int64_t)strlen(completion); }

/* A float result. */
float half_length(const char *completion) { return (float)strlen(completion) / 2.0f; }

/* Reports which field reached which position: first characters as digits, e.g. 123. */
double positions(const char *x, const char *y, const char *z) {
  return (x[0] - '0') * 100.0 + (y[0] - '0') * 10.0 + (z[0] - '0');
}

/* No arguments. */
double constant_reward(void) { return 0.25; }

/* Never returns. */
double hang(const char *prompt, const char *completion) {
  (void)prompt;
  (void)completion;
  volatile unsigned long spins = 0;
  for (;;) spins++;
  return 0.0;
}

/* Dereferences NULL. */
double crash(const char *prompt, const char *completion) {
  (void)prompt;
  (void)completion;
  volatile int *nothing = NULL;
  *nothing = 1;
  return 0.0;
}

double nan_reward(const char *prompt, const char *completion) {
  (void)prompt;
  (void)completion;
  return NAN;
}

double inf_reward(const char *completion) {
  (void)completion;
  return INFINITY;
}

/* Prints to stdout, which must not corrupt the reward host's protocol stream. */
double noisy(const char *completion) {
  printf("noise from the library: %s\n{\"reward\": 99}\n", completion);
  fflush(stdout);
  return 0.5;
}

/* answer_match, except that it hangs on the completion "hang" and crashes on "crash": one
 * function for checking that the call after a timeout or crash works. */
double moody(const char *completion, const char *answer) {
  if (strcmp(completion, "hang") == 0) return hang(completion, answer);
  if (strcmp(completion, "crash") == 0) return crash(completion, answer);
  return answer_match(completion, answer);
}

/* A finite value far outside any sensible reward range (float32 overflows to inf). */
double huge_reward(const char *completion) {
  (void)completion;
  return 1e300;
}

/* 1 for the completion "ok", else never returns: a function failing most of the time. */
double mostly_hangs(const char *completion) {
  if (strcmp(completion, "ok") == 0) return 1.0;
  volatile unsigned long spins = 0;
  for (;;) spins++;
  return 0.0;
}
