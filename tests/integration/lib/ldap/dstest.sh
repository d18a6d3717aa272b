# dstest.sh - helpers for the test_ldap_*.sh scripts (bash; source it).
#
# Expects: T (a mktemp -d directory), DIRSYNC (the binary), ROOT (the
# source tree).  Provides: ds_fail, ds_step, ds_run (runs dirsync, keeps
# exit code, stdout and stderr), ds_ldif_golden (the mail db the LDIF
# source gives for examples/company.ldif), ds_dump, ds_same_db, and the
# servers' start with examples/company.ldif: ds_slapd_company (with
# slapd/slapd.sh sourced), ds_samba_company (with samba/samba.sh).

PY=/usr/bin/python3
DS_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

ds_fail()
{
	echo "FAIL: $*" >&2
	if [ -n "${DS_OUT:-}" ] && [ -s "$DS_OUT" ]; then
		echo "--- stdout of the last dirsync run:" >&2
		tail -20 "$DS_OUT" >&2
	fi
	if [ -n "${DS_ERR:-}" ] && [ -s "$DS_ERR" ]; then
		echo "--- stderr of the last dirsync run:" >&2
		tail -20 "$DS_ERR" >&2
	fi
	exit 1
}

ds_step()
{
	echo "-- $*"
}

# ds_run [PREFIX_CMD...] -- ARGS...: run dirsync; sets DS_RC, DS_OUT, DS_ERR.
# Anything before "--" is a command prefix (e.g. samba_exec).
ds_run()
{
	local pre=()
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		pre+=("$1")
		shift
	done
	shift
	DS_OUT=$T/last.out
	DS_ERR=$T/last.err
	"${pre[@]}" "$DIRSYNC" "$@" >"$DS_OUT" 2>"$DS_ERR"
	DS_RC=$?
}

# ds_expect_rc N WHAT: the last run exited with N.
ds_expect_rc()
{
	[ "$DS_RC" = "$1" ] || ds_fail "$2: exit $DS_RC, expected $1"
}

# ds_expect_err TEXT WHAT: stderr holds TEXT (fixed string).
ds_expect_err()
{
	grep -qF -- "$1" "$DS_ERR" ||
		ds_fail "$2: stderr lacks \"$1\""
}

ds_dump()
{
	"$PY" "$DS_LIB/maildump.py" "$1"
}

# ds_same_db DB EXPECTED_DUMP WHAT
ds_same_db()
{
	ds_dump "$1" >"$T/dump.now" || ds_fail "$3: cannot dump $1"
	if ! diff -u "$2" "$T/dump.now" >"$T/dump.diff"; then
		head -40 "$T/dump.diff" >&2
		ds_fail "$3: mail database differs from the expected one"
	fi
}

# ds_read_is MODE WHAT: the last --json run read that way (full or
# incremental).
ds_read_is()
{
	local m
	m=$(jq -r .read_detail.mode "$DS_OUT")
	[ "$m" = "$1" ] || ds_fail "$2: read was $m, expected $1 ($(jq -c .read "$DS_OUT"))"
}

# ds_expect_read WHAT [MAX_ENTRIES [REASON]]: the last --json run read
# incrementally, at most MAX_ENTRIES entries from the server; with REASON
# it must instead have fallen back to a full read with a fallback_reason
# matching REASON (a grep pattern).
ds_expect_read()
{
	local what=$1 max=${2:-} why=${3:-}
	if [ -n "$why" ]; then
		ds_read_is full "$what"
		jq -r .read_detail.fallback_reason "$DS_OUT" | grep -q "$why" ||
			ds_fail "$what: reason $(jq -r .read_detail.fallback_reason "$DS_OUT"), expected $why"
	else
		ds_read_is incremental "$what"
	fi
	if [ -n "$max" ]; then
		local n
		n=$(jq -r .read_detail.entries "$DS_OUT")
		[ "$n" -le "$max" ] ||
			ds_fail "$what: read $n entries from the server, expected <= $max"
	fi
}

# ds_summary FIELD: from the last --json run.
ds_summary()
{
	jq -r ".summary.$1" "$DS_OUT"
}

# ds_ldif_golden OUT_DUMP: sync examples/company.ldif with the LDIF
# source into a fresh db and dump it: what every live source must give.
ds_ldif_golden()
{
	mkdir -p "$T/golden"
	cat >"$T/golden/dirsync.conf" <<EOF
[source]
type = ldif
path = $ROOT/examples/company.ldif
[mapping]
accepted_domains = example.com example.net
domain_rewrite = example.local=example.com
[target]
url = sqlite://$T/golden/mail.db
[state]
path = $T/golden/state.db
EOF
	ds_run -- -c "$T/golden/dirsync.conf" sync
	ds_expect_rc 0 "golden LDIF sync"
	ds_dump "$T/golden/mail.db" >"$1" || ds_fail "golden dump"
	[ "$(grep -c '^mailbox:' "$1")" -gt 10 ] ||
		ds_fail "golden LDIF sync made too few mailboxes"
}

# ds_slapd_company: a private slapd under $T/slapd (suffix
# dc=example,dc=com; SLAPD_* settings made before apply, slapd.sh) loaded
# with examples/company.ldif as OpenLDAP entries ($T/company.ldif); not
# started.
ds_slapd_company()
{
	slapd_init "$T/slapd" "dc=example,dc=com" || ds_fail "slapd_init"
	"$PY" "$DS_LIB/adldif.py" openldap "$ROOT/examples/company.ldif" \
		>"$T/company.ldif" || ds_fail "adldif openldap"
	slapd_load "$T/company.ldif" || ds_fail "slapadd company"
}

# ds_secret FILE TEXT: FILE holds the line TEXT, mode 600.
ds_secret()
{
	printf '%s\n' "$2" >"$1"
	chmod 600 "$1"
}

# ds_samba_company SVC_PW: a Samba AD DC under $T/samba (suffix $BASE),
# started, with examples/company.ldif loaded over LDAPS
# ($T/company-samba.ldif; svc-dirsync's password SVC_PW).  Sets
# DS_SAMBA_UP and DS_SAMBA_LOAD: the seconds provision and start took,
# and the load.
ds_samba_company()
{
	local t0 t1
	t0=$(date +%s)
	samba_init "$T/samba" "$BASE" || ds_fail "samba_init"
	samba_start || ds_fail "samba_start"
	t1=$(date +%s)
	"$PY" "$DS_LIB/adldif.py" samba "$1" "$ROOT/examples/company.ldif" \
		>"$T/company-samba.ldif" || ds_fail "adldif samba"
	samba_ldif "$T/company-samba.ldif" || ds_fail "loading the company"
	DS_SAMBA_UP=$((t1 - t0))
	DS_SAMBA_LOAD=$(($(date +%s) - t1))
}
