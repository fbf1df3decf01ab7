/* rlax/rlax.h — the whole public ABI of rlax plugins. A plugin includes this (or only the
 * header of its kind) and nothing else of the host. */
#ifndef RLAX_RLAX_H
#define RLAX_RLAX_H
#include "common.h"
#include "backend.h"
#include "algorithm.h"
#include "weight_store.h"
#endif
