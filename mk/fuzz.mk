# fuzz.mk: libFuzzer targets for the parsers that read outside input
# (fuzz/fuzz_*.c, see fuzz/README). Included by the Makefile; also works
# alone: make -f mk/fuzz.mk fuzz.
#   make fuzz                      build every target into $(FUZZ_BUILD)/
#   make fuzz-run [FUZZ_TIME=60]   run each target on its corpus for FUZZ_TIME seconds
#   make fuzz-regress              replay each seed corpus once (quick check)
# The library is compiled again with clang, coverage instrumentation and
# ASan/UBSan, into its own folder, so it never mixes with build/ objects.

FUZZ_CC     ?= clang
FUZZ_BUILD  ?= build-fuzz
FUZZ_TIME   ?= 60
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := -g -O1 -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Ilib $(FUZZ_SAN)
FUZZ_LDLIBS := -llmdb -lcap -lresolv

FUZZ_LIB_SRCS := $(wildcard lib/*.c)
FUZZ_LIB_OBJS := $(FUZZ_LIB_SRCS:%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_LIBA     := $(FUZZ_BUILD)/lib/libfacteur-fuzz.a
FUZZ_NAMES    := $(patsubst fuzz/%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_BINS     := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/%)

.PHONY: fuzz fuzz-run fuzz-regress fuzz-clean
fuzz: $(FUZZ_BINS)

# Library code gets coverage counters but no libFuzzer main.
$(FUZZ_BUILD)/obj/lib/%.o: lib/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_BUILD)/obj/fuzz/%.o: fuzz/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_LIBA): $(FUZZ_LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/obj/fuzz/fuzz_%.o $(FUZZ_LIBA)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(FUZZ_LDLIBS)

# Each run works on a copy of the seeds in $(FUZZ_BUILD)/corpus/, so new
# inputs never land in the tree; a crash, leak or timeout is written to
# $(FUZZ_BUILD)/crash-<target>-* and stops the loop. Replay one with
# $(FUZZ_BUILD)/fuzz_<target> $(FUZZ_BUILD)/crash-<target>-<hash>.
FUZZ_ABS := $(abspath $(FUZZ_BUILD))
fuzz-run: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_NAMES); do \
	    n=$${t#fuzz_}; mkdir -p $(FUZZ_ABS)/corpus/$$n; \
	    cp -n fuzz/corpus/$$n/* $(FUZZ_ABS)/corpus/$$n/ 2>/dev/null || true; \
	    echo "== $$t ($(FUZZ_TIME)s)"; \
	    $(FUZZ_ABS)/$$t -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 \
	        -artifact_prefix=$(FUZZ_ABS)/crash-$$n- -print_final_stats=1 \
	        $(FUZZ_ABS)/corpus/$$n >$(FUZZ_ABS)/$$t.log 2>&1 || true; \
	    grep -E '^#[0-9]+[[:space:]]+DONE|^SUMMARY' $(FUZZ_ABS)/$$t.log || true; \
	    if ls $(FUZZ_ABS)/crash-$$n-* >/dev/null 2>&1; then \
	        echo "$$t: FOUND A PROBLEM, see $(FUZZ_ABS)/$$t.log"; exit 1; fi; \
	done

fuzz-regress: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_NAMES); do \
	    echo "== $$t"; $(FUZZ_BUILD)/$$t -runs=0 fuzz/corpus/$${t#fuzz_}; done

fuzz-clean:
	rm -rf $(FUZZ_BUILD)

-include $(shell find $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)
