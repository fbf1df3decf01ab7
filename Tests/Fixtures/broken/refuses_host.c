/*
 * Broken on purpose: rlax_get_backend_api logs "refuses-host: I need ABI major 7" through
 * services->log and returns NULL (as a plugin does when the host's ABI major is not its own).
 * The host must report that the plugin refused it, quoting the logged line
 * (PluginError.refusedHost), not crash on the NULL table.
 */
#include <rlax/backend.h>

static const rlax_manifest manifest = {
    .struct_size = sizeof(rlax_manifest),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .name = "refuses-host",
    .version = "0.0.1",
    .description = "test fixture: get_api logs a reason and returns NULL",
    .kinds = RLAX_KIND_BACKEND,
};

RLAX_EXPORT const rlax_manifest *rlax_plugin_manifest(void) { return &manifest; }

RLAX_EXPORT const rlax_backend_api *rlax_get_backend_api(const rlax_host_services *services) {
  if (services && RLAX_STRUCT_HAS_FIELD(rlax_host_services, services->struct_size, log) &&
      services->log)
    services->log(services->host_context, RLAX_LOG_ERROR, "refuses-host: I need ABI major 7");
  return NULL;
}
