// Direct cblas, used only by benchmarks as the reference that ABI calls are measured against.
#include <cblas.h>
