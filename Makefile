# dirsync - build, demo and tests.  `make demo` and `make check` are the two
# commands a new user needs (see README.md).

B ?= build
CC ?= cc
PKGS = sqlite3 jansson ldap libpq libcurl libmicrohttpd libxxhash
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lsqlite3 -ljansson -lldap -llber -lpq -lcurl -lmicrohttpd -lxxhash)

CFLAGS ?= -O2 -g
PREFIX ?= /usr/local
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wno-unused-parameter -Wformat=2 -Wvla
ALL_CFLAGS = -std=c11 -pthread -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(WARN) $(CPPFLAGS) $(CFLAGS) \
	     -Isrc $(PKG_CFLAGS) -MMD -MP
ifeq ($(SAN),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDSAN = -fsanitize=address,undefined
endif
LDLIBS = $(PKG_LIBS) -lcrypt -largon2 -lm -pthread

SRCS := $(sort $(wildcard src/*.c src/*/*.c))
OBJS := $(SRCS:%.c=$(B)/%.o)
LIBOBJS := $(filter-out $(B)/src/main.o,$(OBJS))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)

.PHONY: all demo check deps fuzz faults test unit golden cli integration asan bench clean \
	install deb

all: $(B)/dirsync

$(B)/dirsync: $(OBJS)
	@echo "  LD $@"
	@$(CC) $(LDSAN) $(LDFLAGS) -o $@ $(OBJS) $(LDLIBS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/tests/%: tests/unit/%.c $(LIBOBJS)
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(LIBOBJS) $(LDSAN) $(LDLIBS) -lcmocka

# Everything the tests need, installed only when missing.
deps:
	@scripts/deps.sh

demo:
	@scripts/deps.sh build
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh $(B)/dirsync

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

golden: all
	@tests/golden/run.sh $(B)/dirsync

cli: all
	@tests/cli/run.sh $(B)/dirsync

integration: all
	@tests/integration/run.sh $(B)/dirsync

# Faults injected on purpose; each case ends "nothing lost, the next run
# converges" (tests/faults/run.sh; docs/security.md lists them).
faults: all
	@tests/faults/run.sh $(B)/dirsync

test: unit golden cli

# Unit and golden tests once more under ASan+UBSan, in their own build dir,
# and the command-line tests of the partial compare (the runs that load
# and plan part of the mail database, and load it again).
asan:
	@$(MAKE) --no-print-directory B=build-asan SAN=1 CFLAGS="-O1 -g" unit golden
	@tests/cli/one.sh build-asan/dirsync partial.sh

# Short libFuzzer runs of every parser of outside input (skips without clang);
# bench/fuzz_long.sh runs them for longer.
fuzz:
	@tests/fuzz/run.sh 5

check: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory test
	@$(MAKE) --no-print-directory asan
	@$(MAKE) --no-print-directory fuzz
	@$(MAKE) --no-print-directory faults
	@$(MAKE) --no-print-directory integration

# The binary, the man pages, the systemd units (ExecStart= pointing at
# $(PREFIX)/bin) and the sysusers file; an empty SYSTEMDUNITDIR or
# SYSUSERSDIR skips that part.  No configuration is installed: see
# docs/admin-guide.md.
install: all
	install -D -m 0755 $(B)/dirsync $(DESTDIR)$(PREFIX)/bin/dirsync
	install -D -m 0644 man/dirsync.8 $(DESTDIR)$(PREFIX)/share/man/man8/dirsync.8
	install -D -m 0644 man/dirsync.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/dirsync.conf.5
	@set -e; if [ -n "$(SYSTEMDUNITDIR)" ]; then \
		for u in dirsync.service dirsync-sync.service dirsync.timer; do \
			install -d $(DESTDIR)$(SYSTEMDUNITDIR); \
			sed 's|/usr/local/bin/dirsync|$(PREFIX)/bin/dirsync|' \
				contrib/systemd/$$u >$(DESTDIR)$(SYSTEMDUNITDIR)/$$u; \
			chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$u; \
		done; fi
	@set -e; if [ -n "$(SYSUSERSDIR)" ]; then \
		install -D -m 0644 contrib/systemd/dirsync.sysusers \
			$(DESTDIR)$(SYSUSERSDIR)/dirsync.conf; fi

# A Debian package (debian/), built by dpkg-buildpackage on a copy of the
# tree in $(B)/deb/ and checked by lintian; the .deb lands in $(B)/deb/.
deb:
	@rm -rf $(B)/deb
	@mkdir -p $(B)/deb/dirsync
	@tar -cf - --exclude=./build --exclude=./build-asan --exclude='./$(B)' \
		--exclude=./.git --exclude=./bench/out . | tar -xf - -C $(B)/deb/dirsync
	@cd $(B)/deb/dirsync && dpkg-buildpackage -us -uc -b
	@lintian --fail-on error,warning $(B)/deb/*.changes
	@ls $(B)/deb/*.deb

bench: all
	@bench/run.sh $(B)/dirsync

clean:
	rm -rf build build-asan

-include $(OBJS:.o=.d)
