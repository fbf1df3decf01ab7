/*
 * Broken on purpose: a shared object that exports no rlax_plugin_manifest at all (only a
 * function unrelated to rlax).
 * The host must refuse it with a missing-symbol error naming 'rlax_plugin_manifest'
 * (PluginError.missingSymbol), not crash.
 */
int not_rlax(void);

int not_rlax(void) { return 42; }
