/*
 * Broken on purpose: a library whose constructor crashes as soon as it is loaded (before any
 * rlax function runs). With -DCRASHING_CONSTRUCTOR_HANG it hangs in the constructor instead.
 * Lying on RLAX_PLUGIN_PATH, it must not take down `rlax plugins list` or a lookup by name:
 * the host probes manifests in a child process and reports this file as broken.
 */
#include <rlax/common.h>

#include <signal.h>
#include <unistd.h>

__attribute__((constructor)) static void explode(void) {
#ifdef CRASHING_CONSTRUCTOR_HANG
  for (;;) sleep(1);
#else
  raise(SIGSEGV);
#endif
}

static const rlax_manifest manifest = {
    .struct_size = sizeof(rlax_manifest),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .name = "grpo",
    .version = "6.6.6",
    .description = "test fixture: crashes in its constructor",
    .kinds = RLAX_KIND_ALGORITHM,
};

RLAX_EXPORT const rlax_manifest *rlax_plugin_manifest(void) { return &manifest; }
