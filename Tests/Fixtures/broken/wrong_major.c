/*
 * Broken on purpose: built for rlax ABI major 99. Both the manifest and the backend table say
 * abi_major = 99, and rlax_get_backend_api returns the table whatever the host's version.
 * The host must refuse it with an ABI-mismatch error ("built for rlax ABI major 99, this host
 * speaks major 1", PluginError.abiMismatch) from the manifest alone, without calling anything
 * in the table.
 */
#include <rlax/backend.h>

#define WRONG_MAJOR 99

static const rlax_manifest manifest = {
    .struct_size = sizeof(rlax_manifest),
    .abi_major = WRONG_MAJOR,
    .abi_minor = 0,
    .name = "wrong-major",
    .version = "0.0.1",
    .description = "test fixture: claims ABI major 99",
    .kinds = RLAX_KIND_BACKEND,
};

/* Only the prefix matters: a host must stop at abi_major. */
static const rlax_backend_api table = {
    .struct_size = sizeof(rlax_backend_api),
    .abi_major = WRONG_MAJOR,
    .abi_minor = 0,
};

RLAX_EXPORT const rlax_manifest *rlax_plugin_manifest(void) { return &manifest; }

RLAX_EXPORT const rlax_backend_api *rlax_get_backend_api(const rlax_host_services *services) {
  (void)services; /* deliberately ignores the host's version */
  return &table;
}
