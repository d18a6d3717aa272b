#!/bin/sh
# run.sh [SECONDS] - build the libFuzzer harnesses and run each one briefly.
#
# Builds tests/fuzz/fuzz_*.c with clang -fsanitize=fuzzer,address,undefined
# against the parser sources, seeds a corpus, and runs every harness for
# SECONDS (default $FUZZ_SECONDS or 20).  Exit 0 when no harness crashed;
# exit 0 with a message when clang or its fuzzer runtime is missing (the
# rest of `make check` must not depend on it).  Crash inputs are kept in
# $FUZZ_OUT (default build/fuzz/).
set -u

TOP=$(cd "$(dirname "$0")/../.." && pwd)
SECS=${1:-${FUZZ_SECONDS:-20}}
OUT=${FUZZ_OUT:-$TOP/build/fuzz}
CLANG=${CLANG:-clang}

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
	-Wno-unused-parameter -I$TOP/src $PKG_CFLAGS
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
	-DLDIF_BUF_INIT=8 -DLDIF_BUF_MIN=8"
UTIL="$TOP/src/util/err.c $TOP/src/util/xalloc.c $TOP/src/util/buf.c $TOP/src/util/log.c
	$TOP/src/util/strmap.c $TOP/src/util/filter.c $TOP/src/model/entry.c"

build() { # name extra-sources...
	name=$1
	shift
	echo "fuzz: building $name"
	# shellcheck disable=SC2086
	"$CLANG" $CFLAGS -o "$OUT/$name" "$TOP/tests/fuzz/$name.c" $UTIL "$@" -lldap -llber ||
		{ echo "fuzz: build of $name failed" >&2; exit 1; }
}
build fuzz_ldif "$TOP/src/source/ldif.c" "$TOP/src/source/ldap_util.c"
build fuzz_filter

# Seeds: one of each feature.  The first byte of an LDIF input selects
# attributes and filter (see fuzz_ldif.c).
mkdir -p "$WORK/ldif" "$WORK/filter"
printf '\000version: 1\n\n# c\n  folded\ndn: cn=a,dc=y\nobjectClass: user\ncn: a\nmail: a@x\n\n' >"$WORK/ldif/1"
printf '\001dn:: Y249YixkYz15\r\nobjectGUID:: AAECA/8QIDBAUGBwgJCgsA==\r\nmember;range=0-1: cn=x,dc=y\r\nMember;range=2-*: cn=z\r\n cont\r\n' >"$WORK/ldif/2"
printf '\012dn: cn=c,dc=y\ncn: a\n  b\nuserAccountControl: 514\nobjectClass: user\n\ndn: cn=d\nchangetype: add\n' >"$WORK/ldif/3"
printf '\033dn: cn=e,dc=y\njpegPhoto:< file:///x\n' >"$WORK/ldif/4"
printf '%s' '(&(objectClass=user)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))' >"$WORK/filter/1"
printf '%s' '(|(cn=a*b*c)(mail=\2a*)(uSNChanged>=10)(sn<=z)(cn~=x))' >"$WORK/filter/2"
printf '%s' '(memberOf=CN=G,DC=x)' >"$WORK/filter/3"
printf '%s' '(groupType:1.2.840.113556.1.4.804:=-2147483646)' >"$WORK/filter/4"
printf '%s' 'cn=bare' >"$WORK/filter/5"

rc=0
for name in fuzz_ldif fuzz_filter; do
	corpus=$WORK/${name#fuzz_}
	echo "fuzz: running $name for ${SECS}s"
	if ! "$OUT/$name" -max_total_time="$SECS" -max_len=4096 \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$OUT/$name-" "$corpus" \
		>"$WORK/$name.log" 2>&1; then
		echo "fuzz: $name FAILED; crash input in $OUT/$name-*" >&2
		tail -n 40 "$WORK/$name.log" >&2
		rc=1
		continue
	fi
	grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' \
		"$WORK/$name.log" | sed "s/^/fuzz: $name: /"
done
exit $rc
