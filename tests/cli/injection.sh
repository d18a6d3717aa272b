# Sourced by run.sh.  A value from the directory never starts a new line
# in a warning, the text report or the log (log injection): control
# bytes are shown as \n, \r, \t or \xNN.

scenario injection
printf 'version: 1\n\ndn: cn=a,dc=x\nobjectClass: top\nobjectClass: person\nobjectClass: user\ncn: a\nsAMAccountName: a\nmail:: %s\nmail: a@example.com\n\n' \
	"$(printf 'nl\nwarning: forged@example.com\033[2J' | base64 -w0)" >"$S/dir.ldif"
mkconf "$S/dir.ldif"
ds "$S" plan
expect_rc injection-plan 0
expect_in injection-escaped \
	"ignoring mail value 'nl\\nwarning: forged@example.com\\x1b[2J'" "$S/out"
expect_eq injection-no-forged-line "0" \
	"$(grep -c '^warning: forged' "$S/out" "$S/err" | awk -F: '{ s += $NF } END { print s }')"
expect_eq injection-no-escape-byte "0" \
	"$(cat "$S/out" "$S/err" | tr -d '\n' | LC_ALL=C grep -c "$(printf '\033')")"
