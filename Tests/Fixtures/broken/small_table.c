/*
 * Broken on purpose: the manifest is fine, but the backend table says struct_size = 16, which
 * covers only struct_size, abi_major and abi_minor (not even the error functions).
 * The host must refuse it with a table-too-small error ("rlax_backend_api has struct_size 16,
 * this host requires at least RLAX_BACKEND_API_MIN_SIZE", PluginError.tableTooSmall) and must
 * read nothing past byte 16 of the table.
 */
#include <rlax/backend.h>

static const rlax_manifest manifest = {
    .struct_size = sizeof(rlax_manifest),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .name = "small-table",
    .version = "0.0.1",
    .description = "test fixture: backend table with struct_size 16",
    .kinds = RLAX_KIND_BACKEND,
};

/* A full-size object (so a buggy host that over-reads finds NULLs, not garbage), claiming 16. */
static const rlax_backend_api table = {
    .struct_size = 16,
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
};

RLAX_EXPORT const rlax_manifest *rlax_plugin_manifest(void) { return &manifest; }

RLAX_EXPORT const rlax_backend_api *rlax_get_backend_api(const rlax_host_services *services) {
  (void)services;
  return &table;
}
