/*
 * Broken on purpose: exports a valid manifest that says "backend" (kinds = RLAX_KIND_BACKEND),
 * but no rlax_get_backend_api symbol.
 * The host must refuse it with a missing-symbol error naming 'rlax_get_backend_api'
 * (PluginError.missingSymbol), not crash.
 */
#include <rlax/backend.h>

static const rlax_manifest manifest = {
    .struct_size = sizeof(rlax_manifest),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .name = "no-entry",
    .version = "0.0.1",
    .description = "test fixture: manifest says backend, but there is no rlax_get_backend_api",
    .kinds = RLAX_KIND_BACKEND,
};

RLAX_EXPORT const rlax_manifest *rlax_plugin_manifest(void) { return &manifest; }
