#!/bin/sh
# run.sh [SECONDS] - build the libFuzzer harnesses and run each one briefly.
#
# Builds tests/fuzz/fuzz_*.c with clang -fsanitize=fuzzer,address,undefined
# against the sources each one exercises, and runs every harness for
# SECONDS (default $FUZZ_SECONDS or 5) on a copy of its committed seed
# corpus (tests/fuzz/corpus/NAME/; new inputs stay in the copy).  Exit 0
# when no harness crashed; exit 0 with a message when clang or its fuzzer
# runtime is missing (the rest of `make check` must not depend on it).
# Crash inputs are kept in $FUZZ_OUT (default build/fuzz/); replay one with
# build/fuzz/fuzz_NAME CRASH-FILE.  FUZZ_ONLY="ldif dn" runs a subset.
# bench/fuzz_long.sh runs the same harnesses for much longer.
#
#   fuzz_ldif     the LDIF source (RFC 2849, completeness checks)
#   fuzz_filter   RFC 4515 filters
#   fuzz_conf     the config file parser and `dirsync check`'s dump
#   fuzz_address  address normalisation (mail, proxyAddresses' smtp:)
#   fuzz_dn       DN normalisation
#   fuzz_rules    the rules and the plan on a fuzzed LDIF entry set
set -u

TOP=$(cd "$(dirname "$0")/../.." && pwd)
SECS=${1:-${FUZZ_SECONDS:-5}}
OUT=${FUZZ_OUT:-$TOP/build/fuzz}
CLANG=${CLANG:-clang}
ALL="fuzz_ldif fuzz_filter fuzz_conf fuzz_address fuzz_dn fuzz_rules"
ONLY=${FUZZ_ONLY:-}

skip() {
	echo "fuzz: skipped: $*"
	exit 0
}

command -v "$CLANG" >/dev/null 2>&1 || skip "$CLANG not installed"
mkdir -p "$OUT" || exit 1
WORK=$(mktemp -d) || exit 1
trap 'rm -rf "$WORK"' EXIT

printf '%s\n' '#include <stdint.h>' '#include <stddef.h>' \
	'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
	'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)' \
	'{ (void)d; (void)n; return 0; }' >"$WORK/probe.c"
"$CLANG" -fsanitize=fuzzer,address,undefined -o "$WORK/probe" \
	"$WORK/probe.c" >"$WORK/probe.log" 2>&1 ||
	skip "$CLANG cannot link -fsanitize=fuzzer (libclang-rt-dev missing?)"

PKG_CFLAGS=$(pkg-config --cflags jansson ldap 2>/dev/null || true)
CFLAGS="-std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -g -O1 -Wall -Wextra
	-Wno-unused-parameter -I$TOP/src -I$TOP/tests/fuzz $PKG_CFLAGS
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
	-DLDIF_BUF_INIT=8 -DLDIF_BUF_MIN=8"
S=$TOP/src
UTIL="$S/util/err.c $S/util/xalloc.c $S/util/buf.c $S/util/log.c
	$S/util/strmap.c $S/util/filter.c $S/model/entry.c $S/util/arena.c"
CONF="$S/conf/conf.c $S/util/secret.c $S/passwd/passwd.c $S/util/user.c"
RULES="$(echo $S/rules/*.c) $S/plan/plan.c $S/model/mail.c $S/model/managed.c $S/model/snapshot.c
	$S/util/idxmap.c $S/util/strsort.c $S/util/thread.c"

wanted() {
	[ -z "$ONLY" ] && return 0
	case " $ONLY " in *" ${1#fuzz_} "* | *" $1 "*) return 0 ;; esac
	return 1
}

build() { # name extra-sources...
	name=$1
	shift
	wanted "$name" || return 0
	echo "fuzz: building $name"
	# shellcheck disable=SC2086
	"$CLANG" $CFLAGS -o "$OUT/$name" "$TOP/tests/fuzz/$name.c" $UTIL "$@" -lldap -llber -lcrypt -largon2 -ljansson -lxxhash ||
		{ echo "fuzz: build of $name failed" >&2; exit 1; }
}
build fuzz_ldif "$S/source/ldif.c" "$S/source/ldap_util.c"
build fuzz_filter
build fuzz_conf $CONF
build fuzz_address $CONF $RULES
build fuzz_dn
build fuzz_rules $CONF $RULES "$S/source/ldif.c" "$S/source/ldap_util.c" \
	"$S/source/source.c"

rc=0
for name in $ALL; do
	wanted "$name" || continue
	corpus=$WORK/${name#fuzz_}
	mkdir -p "$corpus"
	cp "$TOP/tests/fuzz/corpus/${name#fuzz_}"/* "$corpus"/ 2>/dev/null
	echo "fuzz: running $name for ${SECS}s"
	if ! "$OUT/$name" -max_total_time="$SECS" -max_len=4096 \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$OUT/$name-" "$corpus" \
		>"$WORK/$name.log" 2>&1; then
		echo "fuzz: $name FAILED; crash input in $OUT/$name-*" >&2
		grep -v '^dirsync: warning\|^fuzz: warning' "$WORK/$name.log" |
			tail -n 40 >&2
		rc=1
		continue
	fi
	grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' \
		"$WORK/$name.log" | sed "s/^/fuzz: $name: /"
done
exit $rc
