/*
 * passwd_hook.c - `dirsync passwd-hook`: a new password on stdin becomes
 * the hash of one mailbox row.
 *
 * Made for Samba AD's `check password script` (smb.conf(5)), which runs
 * it with the new password on stdin and the account in
 * SAMBA_CPS_ACCOUNT_NAME / SAMBA_CPS_USER_PRINCIPAL_NAME, BEFORE the
 * change is committed, and refuses the change when it exits non-zero.
 * So the hook never writes the hash itself: it queues it as pending
 * (pwqueue.h) with the account's pwdLastSet as it is now, exits, and a
 * detached helper (double fork, no inherited descriptors, so Samba does
 * not wait for it) polls the directory until pwdLastSet moves, then
 * writes the hash through the target's set_password().  A change the DC
 * refuses after the hook said yes never moves pwdLastSet, and its hash is
 * dropped (pwdeliver.h).  When the helper cannot finish (target down), the
 * next `dirsync sync` does.  `--no-confirm` is for agents that call the
 * hook after the change happened: the hash is written at once.
 *
 * A target that takes the cleartext (SCIM's `password`, which the service
 * hashes: engine_passwords_plain) gets no hash and no queue: the helper
 * keeps the password in its locked, non-dumpable memory while it waits
 * for the confirmation, sends it, and wipes it; a change the directory
 * does not confirm within CONFIRM_WAIT_S, or a service that cannot be
 * reached, leaves the mail password as it was (logged: the next change
 * of the user's password brings it).
 *
 * The plaintext is read into locked, non-dumpable memory (passwd.h),
 * hashed, and wiped; the process is made non-dumpable first.  It is never
 * logged, put in argv or an environment, or stored; only the final hash
 * is queued, in a 0600 file.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "engine/engine.h"
#include "passwd/passwd.h"
#include "passwd/pwdeliver.h"
#include "passwd/pwdir.h"
#include "passwd/pwqueue.h"
#include "util/log.h"
#include "util/xalloc.h"

/* How long the background helper waits for the directory to show the
 * change (Samba commits right after the hook exits: milliseconds). */
#define CONFIRM_WAIT_S 60

static const char hook_usage[] =
	"usage: dirsync [-c FILE] passwd-hook [--user ACCOUNT] [--no-confirm]"
	"\n"
	"  the new password on stdin; the account from --user or Samba's\n"
	"  SAMBA_CPS_ACCOUNT_NAME / SAMBA_CPS_USER_PRINCIPAL_NAME\n";

struct hook {
	struct conf c;
	const char *account;
	bool no_confirm;
	bool from_samba;       /* the account came from Samba's environment */
	bool reject;           /* [passwords] on_failure = reject */
	char *address;         /* the managed mailbox, or its anchor key */
	bool unresolved;       /* the target could not say which mailbox:
				* address is pw_anchor_key() */
	struct pw_account acct;
	char hash[PW_HASH_MAX];
	char ebuf[1400];
};

/* 0: the file is missing or safe; -1: group- or world-writable. */
static int
check_not_writable(const char *what, const char *path)
{
	struct stat sb;

	if (path == NULL || stat(path, &sb) != 0)
		return 0;
	if (sb.st_mode & (S_IWGRP | S_IWOTH)) {
		log_err("%s: %s is writable by group or others (mode %04o): "
			"refusing to take passwords",
			path, what, (unsigned)(sb.st_mode & 07777));
		return -1;
	}
	return 0;
}

/*
 * Which mailbox the account is: 0 found (h->address set), 1 not ours
 * (no mailbox dirsync manages, or out of scope: logged), 2 not found in
 * the directory or ambiguous (logged), -1 error.
 */
static int
resolve(struct hook *h, struct err *err)
{
	struct pw_dir *dir = NULL;
	long long disabled_at = 0;
	int rc = -1;

	if (pw_dir_open(&dir, &h->c, err) != 0)
		goto done;
	if (pw_dir_lookup(dir, h->account, &h->acct, err) != 0)
		goto done;
	if (!h->acct.found) {
		if (!h->reject)
			log_info("account %s: %s in the directory; password "
				 "not synced", h->account,
				 h->acct.matches ? "more than one object"
						 : "not found");
		rc = 2;
		goto done;
	}
	if (engine_mailbox_of(&h->c, h->acct.anchor, &h->address,
			      &disabled_at, err) != 0) {
		/*
		 * The target holds the record of which mailbox is whose and
		 * could not be read (down, locked): never "not managed".
		 * The mail system is unreachable: under accept the hash is
		 * queued under the account's anchor and the next sync finds
		 * the mailbox (pwdeliver.c); under reject the change is
		 * refused (take()).
		 */
		log_warn("account %s (%s): the mail system cannot say which "
			 "mailbox is its: %s", h->account, h->acct.dn,
			 err_fmt(err, h->ebuf, sizeof(h->ebuf)));
		h->address = pw_anchor_key(h->acct.anchor);
		h->unresolved = true;
		err_clear(err);
		rc = 0;
		goto done;
	}
	if (h->address == NULL) {
		log_info("account %s (%s): no mailbox managed by dirsync; "
			 "password not synced", h->account, h->acct.dn);
		rc = 1;
		goto done;
	}
	/*
	 * A disabled mailbox takes the password too: nobody logs in to it
	 * while it is disabled, and when the account comes back (enabled
	 * in the directory before the next sync, say) it must open with
	 * the password set then, not the one from before it left (a user
	 * trial: the old one worked again, the new one did not).
	 */
	if (disabled_at != 0)
		log_info("account %s (%s): its mailbox %s is disabled; the "
			 "password is written for when it is enabled again",
			 h->account, h->acct.dn, h->address);
	rc = 0;
done:
	pw_dir_close(dir);
	return rc;
}

/* Writes the hash now (--no-confirm).  0 or -1 with err. */
static int
write_now(struct hook *h, struct err *err)
{
	return engine_set_password(&h->c, h->address, h->hash, err);
}

/* reject: the mail system must be reachable now, or the DC refuses. */
static int
probe_target(struct hook *h, struct err *err)
{
	return engine_probe_target(&h->c, err);
}

static int
queue(struct hook *h, bool confirmed, struct err *err)
{
	struct pwq *q = NULL;
	struct pwq_row r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.address = h->address;
	r.account = h->account;
	r.anchor = h->acct.anchor;
	r.hash = h->hash;
	r.before = h->acct.changed;
	r.confirmed = confirmed;
	r.queued_at = (long long)time(NULL);
	if (pwq_open(&q, h->c.state.path, true, err) != 0)
		return -1;
	rc = pwq_put(q, &r, err);
	pwq_close(q);
	return rc;
}

/*
 * The detached helper: double fork, new session, stdio on /dev/null and
 * every other descriptor closed, so the caller (Samba) sees EOF and the
 * exit at once.  Logs to syslog.  Only the hash is in its memory.
 */
static void
spawn_confirmer(struct hook *h)
{
	struct pw_deliver_result res = {0};
	struct err err;
	pid_t pid = fork();
	int status, fd;
	long waited_ms = 0, step;

	if (pid < 0) {
		log_warn("cannot start the confirmation helper (%s): the "
			 "next sync delivers the password", strerror(errno));
		return;
	}
	if (pid > 0) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		return;
	}
	if (setsid() < 0 || fork() != 0)
		_exit(0);
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
	}
	closefrom(3);
	log_init("dirsync-passwd", 0, 1);
	explicit_bzero(h->hash, sizeof(h->hash));   /* the queue has it */
	for (;;) {
		err_clear(&err);
		pw_deliver_result_free(&res);   /* the last round's list */
		if (pw_deliver(&h->c, h->address, &res, &err) != 0)
			log_warn("%s", err_fmt(&err, h->ebuf, sizeof(h->ebuf)));
		if (res.left == 0 || waited_ms >= CONFIRM_WAIT_S * 1000L)
			break;
		/* Samba commits right after the hook: poll often at first */
		step = waited_ms < 5000 ? 100 : 1000;
		usleep((useconds_t)step * 1000);
		waited_ms += step;
	}
	if (res.left > 0)
		log_info("password of account %s still queued after %ds: "
			 "the next sync retries", h->account, CONFIRM_WAIT_S);
	_exit(0);
}

/*
 * Whether the account's password change shows in the directory now (a
 * fresh connection each time, as pw_deliver: an LDIF is read anew): 1
 * yes, 0 not yet, -1 the directory could not be read (err set: not taken
 * for "not yet" in what the helper logs at the end).
 */
static int
plain_confirmed(struct hook *h, struct err *err)
{
	struct pw_dir *dir = NULL;
	struct pw_account a;
	int yes;

	err_clear(err);
	if (pw_dir_open(&dir, &h->c, err) != 0)
		return -1;
	if (pw_dir_lookup(dir, h->account, &a, err) != 0) {
		pw_dir_close(dir);
		return -1;
	}
	pw_dir_close(dir);
	yes = a.found && a.anchor != NULL && h->acct.anchor != NULL &&
	      strcmp(a.anchor, h->acct.anchor) == 0 &&
	      pw_changed_after(h->acct.changed, a.changed);
	pw_account_free(&a);
	return yes;
}

/*
 * The detached helper for a cleartext target: as spawn_confirmer(), but
 * it holds the password (locked again: mlock is not inherited) instead
 * of a queued hash, and sends it once the directory shows the change.
 */
static void
spawn_plain_confirmer(struct hook *h, struct pw_secret *pw)
{
	struct err err, lookup;
	pid_t pid = fork();
	long waited_ms = 0, step;
	int status, fd, seen = 0;
	bool sent = false;

	if (pid < 0) {
		log_warn("cannot start the confirmation helper (%s): the "
			 "password of %s is not sent", strerror(errno),
			 h->address);
		return;
	}
	if (pid > 0) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		return;
	}
	if (setsid() < 0 || fork() != 0) {
		pw_secret_free(pw);
		_exit(0);
	}
	(void)mlock(pw->p, pw->cap);
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
	}
	closefrom(3);
	log_init("dirsync-passwd", 0, 1);
	err_clear(&lookup);
	while (!sent && waited_ms < CONFIRM_WAIT_S * 1000L) {
		if ((seen = plain_confirmed(h, &lookup)) == 1) {
			err_clear(&err);
			if (engine_set_password_plain(&h->c, h->address, pw->p,
						      pw->len, &err) == 0)
				log_info("account %s: password of %s sent to "
					 "the mail system", h->account,
					 h->address);
			else
				log_warn("account %s: %s", h->account,
					 err_fmt(&err, h->ebuf,
						 sizeof(h->ebuf)));
			sent = true;
			break;
		}
		step = waited_ms < 5000 ? 100 : 1000;
		usleep((useconds_t)step * 1000);
		waited_ms += step;
	}
	if (!sent && seen < 0)
		log_warn("account %s: the directory could not be read to "
			 "confirm the password change (%s) within %ds: not "
			 "sent, the mail password stays as it was", h->account,
			 err_fmt(&lookup, h->ebuf, sizeof(h->ebuf)),
			 CONFIRM_WAIT_S);
	else if (!sent)
		log_warn("account %s: the directory did not confirm the "
			 "password change within %ds: not sent, the mail "
			 "password stays as it was", h->account,
			 CONFIRM_WAIT_S);
	pw_secret_free(pw);
	_exit(0);
}

/* A failure the mail system cannot absorb: the exit code under reject. */
static int
refuse_or_accept(struct hook *h, const char *what)
{
	if (h->reject) {
		log_err("account %s: %s; refusing the change "
			"([passwords] on_failure = reject)", h->account, what);
		return 1;
	}
	log_warn("account %s: %s; the change goes through, the mail "
		 "password stays as it was ([passwords] on_failure = accept)",
		 h->account, what);
	return 0;
}

static int
parse_args(struct hook *h, int argc, char **argv)
{
	static const struct option opts[] = {
		{"user", required_argument, NULL, 'u'},
		{"no-confirm", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "u:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'u':
			h->account = optarg;
			break;
		case 'n':
			h->no_confirm = true;
			break;
		case 'h':
			fputs(hook_usage, stdout);
			return 0;
		default:
			fputs(hook_usage, stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fputs(hook_usage, stderr);
		return 2;
	}
	if (h->account == NULL || *h->account == '\0') {
		h->account = getenv("SAMBA_CPS_ACCOUNT_NAME");
		h->from_samba = true;
	}
	if (h->account == NULL || *h->account == '\0')
		h->account = getenv("SAMBA_CPS_USER_PRINCIPAL_NAME");
	if (h->account == NULL || *h->account == '\0') {
		log_err("passwd-hook: no account (--user, or "
			"SAMBA_CPS_ACCOUNT_NAME from Samba)");
		return 2;
	}
	return -1;
}

/*
 * A new change supersedes whatever is queued for the mailbox: a hash the
 * DC refused after the hook said yes must not be confirmed by this
 * change's pwdLastSet, whatever becomes of this one.
 */
static int
forget_queued(struct hook *h, struct err *err)
{
	struct pwq *q = NULL;
	int rc;

	if (pwq_open(&q, h->c.state.path, false, err) != 0)
		return -1;
	if (q == NULL)
		return 0;
	rc = pwq_forget(q, h->address, h->acct.anchor, err);
	pwq_close(q);
	return rc;
}

/*
 * A target that takes the cleartext: policy, then send it now
 * (--no-confirm) or from the helper once confirmed.  Never queued.
 */
static int
take_plain(struct hook *h, struct pw_secret *pw, struct err *err)
{
	const char *why;
	int rc;

	if (pw_policy_check(pw->p, pw->len, h->c.passwords.min_length,
			    h->c.passwords.min_classes, &why) != 0)
		return refuse_or_accept(h, why);
	if (h->unresolved)
		return refuse_or_accept(h, "the mail system is unreachable "
					   "(a cleartext password is never "
					   "queued: the service needs it)");
	if (h->no_confirm) {
		rc = engine_set_password_plain(&h->c, h->address, pw->p,
					       pw->len, err);
		pw_secret_free(pw);
		if (rc == 0) {
			log_info("account %s: password of %s sent to the mail "
				 "system", h->account, h->address);
			return 0;
		}
		log_warn("%s", err_fmt(err, h->ebuf, sizeof(h->ebuf)));
		return refuse_or_accept(h, "the mail system did not take the "
					   "password (it is never queued: the "
					   "service needs the cleartext)");
	}
	if (h->reject && probe_target(h, err) != 0) {
		log_warn("%s", err_fmt(err, h->ebuf, sizeof(h->ebuf)));
		return refuse_or_accept(h, "the mail system is unreachable");
	}
	log_info("account %s: password of %s is sent once the directory "
		 "confirms the change (held in memory only)", h->account,
		 h->address);
	spawn_plain_confirmer(h, pw);
	pw_secret_free(pw);
	return 0;
}

/*
 * The hash of an account whose mailbox the mail system could not name
 * (resolve()): unreachable.  Refused under reject; else queued under the
 * anchor key, confirmed at once with --no-confirm, and the next sync (or
 * the helper, once the directory confirms) finds the mailbox.  Never
 * written now: set_password() takes an address, not an anchor.
 */
static int
take_unresolved(struct hook *h, struct err *err)
{
	if (h->reject)
		return refuse_or_accept(h, "the mail system is unreachable");
	if (!h->no_confirm && (h->acct.changed == NULL ||
			       *h->acct.changed == '\0'))
		return refuse_or_accept(h, "the mail system is unreachable, "
					   "and the directory keeps no time "
					   "of the last password change to "
					   "confirm a queued one by");
	if (queue(h, h->no_confirm, err) != 0)
		return refuse_or_accept(h, err_fmt(err, h->ebuf,
						   sizeof(h->ebuf)));
	if (h->no_confirm) {
		log_info("account %s: password queued for the next sync, "
			 "which finds its mailbox", h->account);
		return 0;
	}
	log_info("account %s: password queued until the directory confirms "
		 "the change and the mail system answers", h->account);
	spawn_confirmer(h);
	return 0;
}

/* After the account resolved: policy, hash, then queue or write. */
static int
take(struct hook *h, struct pw_secret *pw, struct err *err)
{
	enum pw_scheme scheme;
	const char *why;

	if (engine_passwords_plain(&h->c))
		return take_plain(h, pw, err);
	if (pw_scheme_parse(h->c.target.password_scheme, &scheme) != 0) {
		log_err("%s: [target] password_scheme '%s' is not one of "
			"SHA512-CRYPT, BLF-CRYPT, ARGON2ID", h->c.path,
			h->c.target.password_scheme);
		return 2;
	}
	if (forget_queued(h, err) != 0)
		return refuse_or_accept(h, err_fmt(err, h->ebuf,
						   sizeof(h->ebuf)));
	if (pw_policy_check(pw->p, pw->len, h->c.passwords.min_length,
			    h->c.passwords.min_classes, &why) != 0)
		return refuse_or_accept(h, why);
	if (pw_hash(scheme, pw, h->hash, sizeof(h->hash), err) != 0)
		return refuse_or_accept(h, err_fmt(err, h->ebuf,
						   sizeof(h->ebuf)));
	pw_secret_free(pw);

	if (h->unresolved)
		return take_unresolved(h, err);
	if (h->no_confirm) {
		if (write_now(h, err) == 0) {
			log_info("account %s: password of %s written to the "
				 "mail system", h->account, h->address);
			return 0;
		}
		log_warn("%s", err_fmt(err, h->ebuf, sizeof(h->ebuf)));
		if (h->reject)
			return refuse_or_accept(h, "the mail system did not "
						   "take the password");
		err_clear(err);
		if (queue(h, true, err) != 0)
			return refuse_or_accept(h, err_fmt(err, h->ebuf,
							   sizeof(h->ebuf)));
		log_info("account %s: password of %s queued for the next "
			 "sync", h->account, h->address);
		return 0;
	}
	if (h->acct.changed == NULL || *h->acct.changed == '\0')
		/* OpenLDAP without the ppolicy overlay, an LDIF export */
		return refuse_or_accept(h, "the directory keeps no time of "
					   "the last password change for it "
					   "(pwdLastSet, or pwdChangedTime "
					   "with OpenLDAP's ppolicy overlay), "
					   "so the change could never be "
					   "confirmed; call the hook with "
					   "--no-confirm once the directory "
					   "has the new password");
	if (h->reject && probe_target(h, err) != 0) {
		log_warn("%s", err_fmt(err, h->ebuf, sizeof(h->ebuf)));
		return refuse_or_accept(h, "the mail system is unreachable");
	}
	if (queue(h, false, err) != 0)
		return refuse_or_accept(h, err_fmt(err, h->ebuf,
						   sizeof(h->ebuf)));
	log_info("account %s: password of %s queued until the directory "
		 "confirms the change", h->account, h->address);
	spawn_confirmer(h);
	return 0;
}

int
cmd_passwd_hook(const struct cli_globals *g, int argc, char **argv)
{
	struct pw_secret pw;
	struct hook h;
	struct err err;
	int rc;
	bool unread;

	pw_harden_process();
	/* what happened to each change is worth a line in the DC's log */
	log_init("dirsync", g->verbose > 1 ? g->verbose : 1, 0);
	memset(&pw, 0, sizeof(pw));
	memset(&h, 0, sizeof(h));
	err_clear(&err);
	if ((rc = parse_args(&h, argc, argv)) >= 0)
		return rc;
	/* Samba keeps the script's stderr only at a high debug level */
	if (h.from_samba)
		log_init("dirsync", g->verbose > 1 ? g->verbose : 1, 1);
	/* empty, too long or with a NUL: refused or let through as
	 * [passwords] on_failure says, like any other failure */
	unread = pw_secret_read(STDIN_FILENO, &pw, &err) != 0;
	if (unread)
		err_fmt(&err, h.ebuf, sizeof(h.ebuf));
	if ((rc = cli_load_conf(g, &h.c)) != 0) {
		pw_secret_free(&pw);
		return rc;
	}
	h.reject = h.c.passwords.on_failure == PW_REJECT;
	if (unread) {
		rc = refuse_or_accept(&h, h.ebuf);
		goto done;
	}
	if (check_not_writable("config file", h.c.path) != 0 ||
	    check_not_writable("state database", h.c.state.path) != 0) {
		rc = 2;
		goto done;
	}
	switch (resolve(&h, &err)) {
	case 0:
		rc = take(&h, &pw, &err);
		break;
	case 1:
		rc = 0;
		break;
	case 2:
		/*
		 * Under reject a lookup that finds no one (or two) is a
		 * failure: the hook cannot tell that the account has no
		 * mailbox, and the mail password would silently stay old.
		 * Under accept it is an account dirsync does not know.
		 */
		rc = h.reject ? refuse_or_accept(&h, h.acct.matches
						 ? "more than one object in "
						   "the directory matches it"
						 : "not found in the directory "
						   "([source] base_dn)")
			      : 0;
		break;
	default:
		log_warn("%s", err_fmt(&err, h.ebuf, sizeof(h.ebuf)));
		rc = refuse_or_accept(&h, "the account could not be looked "
					  "up");
		break;
	}
done:
	pw_secret_free(&pw);
	explicit_bzero(h.hash, sizeof(h.hash));
	pw_account_free(&h.acct);
	free(h.address);
	conf_free(&h.c);
	return rc;
}
