#!/bin/sh
# Functions in src/ longer than N lines (default 120), longest first:
# a function starts at a line "{" in column 0 and ends at "}" in column 0.
max=${1:-120}
for f in $(find src -name '*.c' | sort); do
	awk -v f="$f" -v max="$max" '
		/^[a-z_][a-z_0-9]*\(/ { name = $0; sub(/\(.*/, "", name) }
		/^\{/ { start = NR }
		/^\}/ && start { n = NR - start + 1; if (n > max) printf "%5d %s:%d %s\n", n, f, start, name; start = 0 }
	' "$f"
done | sort -rn
