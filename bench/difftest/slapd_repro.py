"""Write a self-contained slapd repro directory (run.sh + ldapmodify files)
from a fuzz.Case of full-state templates."""
import os
import re
import shutil

import fuzz_slapd
from minimize import STEP_CHECK_TAIL, offsets, waits

SLAPD_RUN_SH = r"""#!/bin/bash
# %(title)s
# Against a private slapd (syncprov + memberof) on 127.0.0.1:$PORT
# (default 42450), started and stopped by this script.  N.ldif are
# ldapmodify inputs applied in order (N.sql: a hand edit of both mail
# databases).  After each: A runs `dirsync sync` (incremental reads),
# B `dirsync sync --full`; expected: identical mail databases, and `plan`
# right after A's sync finds nothing.
# Usage: DS=/path/to/dirsync [PORT=42450] bash run.sh
set -u
DS=${DS:-dirsync}
PORT=${PORT:-42450}
here=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d "$here/work.XXXXXX")
mkdir -p "$W/A" "$W/B" "$W/slapd/db"
H=$(slappasswd -h '{SSHA}' -s secret)
cat >"$W/slapd/slapd.conf" <<SLAPDCONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include $here/dirsync-test.schema
include $here/fuzz.schema
pidfile $W/slapd/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
moduleload syncprov
sizelimit unlimited
database mdb
suffix "dc=example,dc=com"
rootdn "cn=admin,dc=example,dc=com"
rootpw $H
directory $W/slapd/db
maxsize 1073741824
index objectClass,entryUUID,entryCSN eq
overlay syncprov
syncprov-checkpoint 100 1
syncprov-sessionlog 1000
overlay memberof
memberof-refint true
memberof-group-oc group
SLAPDCONF
slapadd -q -w -f "$W/slapd/slapd.conf" -l "$here/base.ldif" || exit 2
slapd -f "$W/slapd/slapd.conf" -h "ldap://127.0.0.1:$PORT/" || exit 2
for i in $(seq 50); do [ -s "$W/slapd/slapd.pid" ] && break; sleep 0.1; done
SPID=$(cat "$W/slapd/slapd.pid")
trap 'kill $SPID' EXIT
sleep 0.5
printf 'secret\n' >"$W/bind.secret"; chmod 600 "$W/bind.secret"
for x in A B; do
	cat >"$W/$x/dirsync.conf" <<DSCONF
[source]
type = ldap
uri = ldap://127.0.0.1:$PORT
bind_dn = cn=admin,dc=example,dc=com
bind_password_file = $W/bind.secret
base_dn = dc=example,dc=com
flavor = openldap
filter = (|(objectClass=inetOrgPerson)(objectClass=group)(objectClass=contact))
[mapping]
accepted_domains = example.com example.net
group_filter = (objectClass=group)
[target]
url = sqlite://$W/$x/mail.db
[state]
path = $W/$x/state.db
%(tail)sDSCONF
	chmod 600 "$W/$x/dirsync.conf"
done
T0=$(date +%%s)
ft() { echo $(( (T0 + $1 + 11644473600) * 10000000 )); }
waitpast() { while [ "$(date +%%s)" -le $((T0 + $1)) ]; do sleep 0.2; done; }
dump() {
	sqlite3 "$1" "SELECT 'domain', domain, active FROM domain ORDER BY 2;
	SELECT 'mailbox', username, name, maildir, active FROM mailbox ORDER BY 2;
	SELECT 'alias', address, goto, active FROM alias ORDER BY 2;
	SELECT 'managed', address, kind, disabled_at > 0
	FROM dirsync_managed ORDER BY 2"
}
bad=0
step() {
	n=$1
	shift
	if [ -s "$here/$n.ldif" ]; then
		sed "$@" "$here/$n.ldif" | ldapmodify -x -H "ldap://127.0.0.1:$PORT" \
			-D cn=admin,dc=example,dc=com -w secret >"$W/ldapmodify.$n" 2>&1 ||
			{ echo "ldapmodify $n failed"; cat "$W/ldapmodify.$n"; exit 2; }
	fi
	s0=$(date +%%s); while [ "$(date +%%s)" = "$s0" ]; do sleep 0.05; done
""" + STEP_CHECK_TAIL


def write_repro_slapd(case, f, out, title):
    os.makedirs(out, exist_ok=True)
    for x in os.listdir(out):
        if re.match(r"^\d+\.(ldif|sql)$", x):
            os.remove(os.path.join(out, x))
    shutil.copy(fuzz_slapd.SCHEMA, os.path.join(out, "dirsync-test.schema"))
    with open(os.path.join(out, "fuzz.schema"), "w") as fh:
        fh.write(fuzz_slapd.EXTRA_SCHEMA)
    base = "dn: dc=example,dc=com\nobjectClass: dcObject\n" \
        "objectClass: organization\ndc: example\no: example\n"
    for ou in ("Staff", "Sales", "Groups", "Contacts"):
        base += "\ndn: ou=%s,dc=example,dc=com\nobjectClass: " \
            "organizationalUnit\nou: %s\n" % (ou, ou)
    with open(os.path.join(out, "base.ldif"), "w") as fh:
        fh.write(base)
    ws = waits(case)
    lines = []
    old = {}
    for i, s in enumerate(case.steps, 1):
        new = {}
        for e in fuzz_slapd.parse_entries(s["ldif"]):
            guid = [v for k, v in e if k.startswith("objectGUID")][0]
            new[guid] = fuzz_slapd.to_openldap(e, None)
        text = fuzz_slapd.changes(old, new)
        old = new
        with open(os.path.join(out, "%d.ldif" % i), "w") as fh:
            fh.write(text)
        if s.get("sql"):
            with open(os.path.join(out, "%d.sql" % i), "w") as fh:
                fh.write(s["sql"].rstrip(";") + ";\n")
        offs = sorted(set(offsets(text)))
        if ws[i - 1] is not None:
            lines.append("waitpast %d" % ws[i - 1])
        sedargs = " ".join('-e "s/@T%+d@/$(ft %d)/g"' % (n, n) for n in offs)
        lines.append("step %d %s" % (i, sedargs or "-e ''"))
    with open(os.path.join(out, "run.sh"), "w") as fh:
        fh.write(SLAPD_RUN_SH % {"title": title, "tail": case.tail,
                                 "steps": "\n".join(lines)})
    with open(os.path.join(out, "failure.txt"), "w") as fh:
        fh.write("%s\n%s\n" % f)
    case.save(os.path.join(out, "case"))
