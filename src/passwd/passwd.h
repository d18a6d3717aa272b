/*
 * passwd.h - a new password in, a Dovecot-readable hash out: the policy
 * check, the hashing, and the handling of the plaintext in memory.
 *
 * No crypto is written here: SHA512-CRYPT and BLF-CRYPT come from
 * libcrypt (libxcrypt: crypt_gensalt_rn + crypt_rn, salt from the
 * kernel's random source), ARGON2ID from libargon2 (the reference
 * implementation).  The hash carries the {SCHEME} prefix Dovecot reads
 * (https://doc.dovecot.org/configuration_manual/authentication/
 * password_schemes/), so `default_pass_scheme` never matters.
 *
 * Plaintext lives only in a struct pw_secret: a page-aligned buffer that
 * is mlock()ed (never swapped), excluded from core dumps (MADV_DONTDUMP)
 * and wiped with explicit_bzero() by pw_secret_free().  Pure functions
 * (policy, scheme names) do no I/O, so the unit tests reach them.
 */
#ifndef DS_PASSWD_H
#define DS_PASSWD_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

/* Longest password accepted, in bytes (AD allows 256 UTF-16 units). */
#define PW_MAX_BYTES 1024
/* Longest hash with its prefix: ARGON2ID's encoded form is the longest. */
#define PW_HASH_MAX 256

enum pw_scheme { PW_SHA512_CRYPT, PW_BLF_CRYPT, PW_ARGON2ID };

/* "SHA512-CRYPT", "BLF-CRYPT", "ARGON2ID" (case-insensitive). -1 if not. */
int pw_scheme_parse(const char *name, enum pw_scheme *out);
const char *pw_scheme_name(enum pw_scheme s);

/*
 * The [passwords] policy.  Length counts characters (UTF-8 code points),
 * not bytes.  Classes: ASCII lower case, ASCII upper case, digits, and
 * anything else ("other": punctuation, spaces, non-ASCII letters).
 * Returns 0 when `pw` (len bytes, no NUL inside) passes, else -1 with
 * *why set to a static sentence that never quotes the password.
 */
int pw_policy_check(const char *pw, size_t len, long min_length,
		    long min_classes, const char **why);

struct pw_secret {
	char *p;        /* len bytes + NUL; locked, not dumped */
	size_t len;
	size_t cap;     /* mapping size */
};

/*
 * Reads at most PW_MAX_BYTES from fd until EOF into a fresh secret; one
 * trailing "\n" (or "\r\n") is dropped, as Samba and shell agents may
 * add it.  DS_E_USAGE when empty, longer than PW_MAX_BYTES or holding a
 * NUL byte (the rest of the input is drained, never kept).  The secret
 * is valid (and must be freed) only when 0 is returned.
 */
int pw_secret_read(int fd, struct pw_secret *s, struct err *err);
/* Wipes and unmaps; safe on a zeroed struct and twice. */
void pw_secret_free(struct pw_secret *s);

/*
 * Hashes s with the scheme into out (PW_HASH_MAX bytes):
 * "{SHA512-CRYPT}$6$...", "{BLF-CRYPT}$2y$10$...",
 * "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$...".  The library's work
 * areas are wiped after use.  DS_E_INTERNAL when the library fails
 * (e.g. no random source).
 */
int pw_hash(enum pw_scheme scheme, const struct pw_secret *s, char *out,
	    size_t outlen, struct err *err);

/*
 * Whether `hash` (as pw_hash made it) is the hash of `pw`: for the unit
 * tests and the bench, never for logins.
 */
bool pw_verify(const char *hash, const char *pw);

/* The process may not be dumped or ptrace-attached (PR_SET_DUMPABLE 0). */
void pw_harden_process(void);

#endif
