# rlax build entry points. SwiftPM builds the host; plain `cc` builds every plugin, which
# proves the rule that a plugin needs nothing but include/rlax/.
#
#   make            debug host + plugins           make test    build, then run all tests
#   make release    release host + plugins         make run     release build, then the default RL run
#   make verify     conformance suite on every bundled plugin
#   make plugins    plugins only (CONFIG=debug|release)

CONFIG ?= debug
SWIFT ?= swift
CC ?= cc
BIN := $(shell $(SWIFT) build -c $(CONFIG) --show-bin-path 2>/dev/null)
PLUGIN_DIR := $(BIN)/plugins

CFLAGS_PLUGIN := -std=c11 -O2 -g -fPIC -fvisibility=hidden -Wall -Wextra -Werror=implicit-function-declaration -Iinclude -D_GNU_SOURCE
LDFLAGS_PLUGIN := -shared -lm -lpthread -ldl
# cpu-blas compiles against OpenBLAS's header but loads the library at run time
# (Backends/cpu-blas/openblas.c says why).
OPENBLAS_CFLAGS := $(shell pkg-config --cflags openblas)

# name -> source directory. Every directory under Backends/, Plugins/algorithms/ and
# Plugins/weight-stores/ with a .c file is a plugin named after it: adding one is adding a
# directory. (Plugins/shared/ and Plugins/algorithms/shared/ hold headers only.)
plugin_dirs := $(foreach d,$(wildcard Backends/*/ Plugins/algorithms/*/ Plugins/weight-stores/*/),$(if $(wildcard $(d)*.c),$(patsubst %/,%,$(d))))
PLUGINS := $(foreach d,$(plugin_dirs),$(notdir $(d)):$(d))

plugin_dir = $(word 2,$(subst :, ,$(1)))
plugin_name = $(word 1,$(subst :, ,$(1)))
PLUGIN_SOS := $(foreach p,$(PLUGINS),$(PLUGIN_DIR)/$(call plugin_name,$(p)).so)

.PHONY: all host plugins release test run verify bench clean
all: host plugins

host:
	$(SWIFT) build -c $(CONFIG)

plugins: $(PLUGIN_SOS)

define plugin_rule
$(PLUGIN_DIR)/$(call plugin_name,$(1)).so: $(wildcard $(call plugin_dir,$(1))/*.c $(call plugin_dir,$(1))/*.h) $(wildcard include/rlax/*.h Plugins/shared/*.h Plugins/algorithms/shared/*.h)
	@mkdir -p $(PLUGIN_DIR)
	$(CC) $(CFLAGS_PLUGIN) $(if $(filter cpu-blas,$(call plugin_name,$(1))),$(OPENBLAS_CFLAGS)) \
	  -o $$@ $(wildcard $(call plugin_dir,$(1))/*.c) $(LDFLAGS_PLUGIN)
endef
$(foreach p,$(PLUGINS),$(eval $(call plugin_rule,$(p))))

release:
	$(MAKE) CONFIG=release all

test: all
	$(SWIFT) test --disable-swift-testing

# The main job: the default RL run (SFT warm start, evaluation, GRPO, evaluation, summary).
run: release
	$(shell $(SWIFT) build -c release --show-bin-path)/rlax --backend cpu-blas --algo grpo --run-dir runs/default --overwrite

verify: release
	$(shell $(SWIFT) build -c release --show-bin-path)/rlax plugins verify --all

bench: release
	$(shell $(SWIFT) build -c release --show-bin-path)/rlax bench matmul

clean:
	rm -rf .build
