# lib.sh - what the slapd benchmarks share (bash; source it with TOP set
# to the source tree).  Sets OUT (bench/out, made), PY and TIME, sources
# tests/integration/slapd/slapd.sh, and provides:
#   bench_users N  ldif: $OUT/users-N.ldif (bench/gen_ldif.py N --seed 1)
#                  and ol: the same as OpenLDAP entries (adldif.py
#                  openldap), each made again when missing or older than
#                  what it is made from; 0 or 1
#   bench_slapd    slapd_init $T/slapd (suffix dc=example,dc=com; SLAPD_*
#                  settings made before apply), slapd_load $ol,
#                  slapd_start, and $T/bind.secret (mode 600) holding
#                  SLAPD_BIND_PW; BENCH_LOAD_S: the slapadd's seconds;
#                  0 or 1 (what failed is on stderr)

OUT=$TOP/bench/out
PY=/usr/bin/python3
TIME=/usr/bin/time
. "$TOP/tests/integration/slapd/slapd.sh"
mkdir -p "$OUT" || exit 1

bench_users()
{
	ldif=$OUT/users-$1.ldif
	if [ ! -s "$ldif" ] || [ "$TOP/bench/gen_ldif.py" -nt "$ldif" ]; then
		echo "bench: generating $ldif" >&2
		"$PY" "$TOP/bench/gen_ldif.py" "$1" --seed 1 >"$ldif.tmp" &&
			mv "$ldif.tmp" "$ldif" || return 1
	fi
	ol=$OUT/users-$1-openldap.ldif
	if [ ! -s "$ol" ] || [ "$ldif" -nt "$ol" ]; then
		echo "bench: converting to OpenLDAP entries" >&2
		"$PY" "$TOP/tests/integration/lib/ldap/adldif.py" openldap \
			"$ldif" >"$ol.tmp" && mv "$ol.tmp" "$ol" || return 1
	fi
}

bench_slapd()
{
	local t0 t1
	slapd_init "$T/slapd" "dc=example,dc=com" || return 1
	t0=$(date +%s.%N)
	slapd_load "$ol" || return 1
	t1=$(date +%s.%N)
	BENCH_LOAD_S=$(echo "$t1 - $t0" | bc)
	slapd_start || return 1
	printf '%s\n' "$SLAPD_BIND_PW" >"$T/bind.secret"
	chmod 600 "$T/bind.secret"
}
