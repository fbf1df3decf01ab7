/*
 * Broken on purpose: a full-size backend table with the right ABI fields and working error
 * functions, but create (and every other function) is NULL.
 * The host must refuse it with a missing-function error naming 'create'
 * (PluginError.missingFunction), never call through the NULL pointer.
 */
#include <rlax/backend.h>
#include <rlax/plugin_support.h>

RLAX_DEFINE_ERRORS(fixture)

static const rlax_manifest manifest = {
    .struct_size = sizeof(rlax_manifest),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .name = "null-create",
    .version = "0.0.1",
    .description = "test fixture: backend table whose create is NULL",
    .kinds = RLAX_KIND_BACKEND,
};

static const rlax_backend_api table = {
    .struct_size = sizeof(rlax_backend_api),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .error_code = fixture_error_code,
    .error_message = fixture_error_message,
    .error_destroy = fixture_error_destroy,
    .create = NULL, /* the defect */
};

RLAX_EXPORT const rlax_manifest *rlax_plugin_manifest(void) { return &manifest; }

RLAX_EXPORT const rlax_backend_api *rlax_get_backend_api(const rlax_host_services *services) {
  (void)services;
  (void)fixture_error; /* never needed: nothing here can fail */
  return &table;
}
