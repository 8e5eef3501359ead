# facteur: build everything into build/, test, run a sandbox, install.
#   make            build every program
#   make test       install what tests need, build, run every test
#   make run        build and start a sandbox instance on 127.0.0.1:2525
#   make install    install under DESTDIR with Debian's Postfix paths
#   make SAN=1 ...  build with AddressSanitizer and UBSan (build-san/)

DAEMONS  := master smtpd cleanup qmgr local pickup smtp
COMMANDS := postfix postconf postmap postalias sendmail postdrop postqueue postsuper postcat qshape

CC      ?= cc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Ilib
# Only programs that call OpenSSL (smtpd, smtp) load it: the others stay small.
LDFLAGS += -Wl,--as-needed
LDLIBS  := -llmdb -lcap -lresolv -lssl -lcrypto

ifeq ($(SAN),1)
BUILD   := build-san
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
else
BUILD   := build
endif

LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
LIBA     := $(BUILD)/lib/libfacteur.a

DAEMON_BINS  := $(DAEMONS:%=$(BUILD)/libexec/%)
COMMAND_BINS := $(COMMANDS:%=$(BUILD)/sbin/%)
UNIT_SRCS    := $(wildcard tests/unit/test_*.c)
UNIT_BINS    := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

PREFIX        ?= /usr
SBINDIR       ?= $(PREFIX)/sbin
DAEMONDIR     ?= $(PREFIX)/lib/postfix/sbin
CONFDIR       ?= /etc/postfix

.PHONY: all deps test unit integration run install clean
LINKS := $(BUILD)/sbin/newaliases $(BUILD)/sbin/mailq
all: $(DAEMON_BINS) $(COMMAND_BINS) $(LINKS) $(BUILD)/libexec/lmtp

# lmtp is the smtp agent under another name (LHLO, one reply per recipient).
$(BUILD)/libexec/lmtp: $(BUILD)/libexec/smtp
	ln -sf smtp $@

# mailq and newaliases are sendmail under other names (-bp and -bi).
$(LINKS): $(BUILD)/sbin/sendmail
	ln -sf sendmail $@

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIBA): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

# A program is every .c file in its folder, linked with the library.
define program_rule
$(2)/$(1): $$(patsubst %.c,$(BUILD)/obj/%.o,$$(wildcard $(1)/*.c)) $$(LIBA)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach p,$(DAEMONS),$(eval $(call program_rule,$(p),$(BUILD)/libexec)))
$(foreach p,$(COMMANDS),$(eval $(call program_rule,$(p),$(BUILD)/sbin)))

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

deps:
	@tools/deps.sh

unit: $(UNIT_BINS)
integration: all

test: deps
	@$(MAKE) --no-print-directory all $(UNIT_BINS)
	@BUILD=$(BUILD) tests/run

run: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) tools/run-sandbox.sh

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(DAEMONDIR) $(DESTDIR)$(CONFDIR)
	install -m 0755 $(COMMAND_BINS) $(DESTDIR)$(SBINDIR)/
	install -m 0755 $(DAEMON_BINS) $(DESTDIR)$(DAEMONDIR)/
	ln -sf smtp $(DESTDIR)$(DAEMONDIR)/lmtp
	ln -sf sendmail $(DESTDIR)$(SBINDIR)/newaliases
	ln -sf sendmail $(DESTDIR)$(SBINDIR)/mailq
	install -d $(DESTDIR)/usr/bin $(DESTDIR)/usr/lib
	ln -sf ../sbin/sendmail $(DESTDIR)/usr/bin/mailq
	ln -sf ../sbin/sendmail $(DESTDIR)/usr/bin/newaliases
	ln -sf ../sbin/sendmail $(DESTDIR)/usr/lib/sendmail
	@# postdrop is set-gid setgid_group; postfix set-permissions fixes it on a real system.
	-for f in postdrop postqueue; do chgrp postdrop $(DESTDIR)$(SBINDIR)/$$f 2>/dev/null \
	    && chmod 02555 $(DESTDIR)$(SBINDIR)/$$f; done
	@# Never overwrite an admin's configuration.
	@for f in main.cf master.cf; do \
	    if [ -e $(DESTDIR)$(CONFDIR)/$$f ]; then echo "keeping existing $(CONFDIR)/$$f"; \
	    else install -m 0644 conf/$$f $(DESTDIR)$(CONFDIR)/$$f; fi; done
	install -d $(DESTDIR)/etc/init.d
	install -m 0755 conf/postfix.init $(DESTDIR)/etc/init.d/postfix

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# Fuzzing: make fuzz, make fuzz-run, make fuzz-regress (see fuzz/README).
include mk/fuzz.mk
