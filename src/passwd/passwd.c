#include "passwd/passwd.h"

#include <argon2.h>
#include <crypt.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <unistd.h>

/*
 * Cost parameters.  bcrypt 10 (about 60 ms here) is what `doveadm pw`
 * and PHP use by default; SHA512-CRYPT keeps libxcrypt's default rounds
 * (5000, no "rounds=" in the string, as `doveadm pw -s SHA512-CRYPT`);
 * ARGON2ID: t=3, 64 MiB, one lane (libsodium, which Dovecot verifies
 * with, takes one lane only), RFC 9106's second recommended option.
 */
#define BCRYPT_COST 10
#define ARGON2_T 3
#define ARGON2_M_KIB 65536
#define ARGON2_P 1
#define ARGON2_SALT 16
#define ARGON2_HASHLEN 32

static const char *const scheme_names[] = {
	[PW_SHA512_CRYPT] = "SHA512-CRYPT",
	[PW_BLF_CRYPT] = "BLF-CRYPT",
	[PW_ARGON2ID] = "ARGON2ID",
};

int
pw_scheme_parse(const char *name, enum pw_scheme *out)
{
	size_t i;

	for (i = 0; i < sizeof(scheme_names) / sizeof(scheme_names[0]); i++)
		if (name != NULL && strcasecmp(name, scheme_names[i]) == 0) {
			*out = (enum pw_scheme)i;
			return 0;
		}
	return -1;
}

const char *
pw_scheme_name(enum pw_scheme s)
{
	return scheme_names[s];
}

int
pw_policy_check(const char *pw, size_t len, long min_length,
		long min_classes, const char **why)
{
	bool lower = false, upper = false, digit = false, other = false;
	long chars = 0, classes;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)pw[i];

		if (c == '\0') {
			*why = "the password holds a NUL byte";
			return -1;
		}
		if ((c & 0xC0) != 0x80)   /* not a UTF-8 continuation byte */
			chars++;
		if (c >= 'a' && c <= 'z')
			lower = true;
		else if (c >= 'A' && c <= 'Z')
			upper = true;
		else if (c >= '0' && c <= '9')
			digit = true;
		else
			other = true;
	}
	if (chars < min_length) {
		*why = "the password is shorter than [passwords] min_length";
		return -1;
	}
	classes = (long)lower + (long)upper + (long)digit + (long)other;
	if (classes < min_classes) {
		*why = "the password has fewer character classes (lower, "
		       "upper, digit, other) than [passwords] min_classes";
		return -1;
	}
	*why = NULL;
	return 0;
}

void
pw_secret_free(struct pw_secret *s)
{
	if (s->p == NULL)
		return;
	explicit_bzero(s->p, s->cap);
	munlock(s->p, s->cap);
	munmap(s->p, s->cap);
	s->p = NULL;
	s->len = s->cap = 0;
}

static int
secret_alloc(struct pw_secret *s, struct err *err)
{
	long page = sysconf(_SC_PAGESIZE);

	s->cap = (size_t)(page > 0 ? page : 4096);
	while (s->cap < PW_MAX_BYTES + 2)
		s->cap *= 2;
	s->p = mmap(NULL, s->cap, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s->p == MAP_FAILED) {
		s->p = NULL;
		err->lib_rc = errno;
		return err_set(err, DS_E_NOMEM, "mmap: %s", strerror(errno));
	}
	/* best effort: a failing mlock (RLIMIT_MEMLOCK) is not fatal */
	(void)mlock(s->p, s->cap);
	(void)madvise(s->p, s->cap, MADV_DONTDUMP);
	s->len = 0;
	return 0;
}

int
pw_secret_read(int fd, struct pw_secret *s, struct err *err)
{
	bool too_long = false;
	char sink[256];
	ssize_t n;

	memset(s, 0, sizeof(*s));
	if (secret_alloc(s, err) != 0)
		return -1;
	for (;;) {
		if (s->len <= PW_MAX_BYTES)
			n = read(fd, s->p + s->len, PW_MAX_BYTES + 1 - s->len);
		else
			n = read(fd, sink, sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err->lib_rc = errno;
			err_set(err, DS_E_IO, "reading the password from "
				"stdin: %s", strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		if (s->len > PW_MAX_BYTES) {
			explicit_bzero(sink, sizeof(sink));
			continue;
		}
		s->len += (size_t)n;
		if (s->len > PW_MAX_BYTES)
			too_long = true;
	}
	if (!too_long && s->len > 0 && s->p[s->len - 1] == '\n')
		s->len--;
	if (!too_long && s->len > 0 && s->p[s->len - 1] == '\r')
		s->len--;
	s->p[s->len] = '\0';
	if (too_long) {
		err_set(err, DS_E_USAGE, "the password on stdin is longer "
			"than %d bytes", PW_MAX_BYTES);
		goto fail;
	}
	if (s->len == 0) {
		err_set(err, DS_E_USAGE, "no password on stdin");
		goto fail;
	}
	if (memchr(s->p, '\0', s->len) != NULL) {
		err_set(err, DS_E_USAGE, "the password holds a NUL byte");
		goto fail;
	}
	return 0;
fail:
	pw_secret_free(s);
	return -1;
}

static int
hash_crypt(enum pw_scheme scheme, const struct pw_secret *s, char *out,
	   size_t outlen, struct err *err)
{
	const char *prefix = scheme == PW_BLF_CRYPT ? "$2y$" : "$6$";
	unsigned long count = scheme == PW_BLF_CRYPT ? BCRYPT_COST : 0;
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	int rc = -1;

	/* libxcrypt takes at most CRYPT_MAX_PASSPHRASE_SIZE - 1 bytes (a
	 * user trial: 512 bytes and more gave "crypt_rn($6$) failed") */
	if (s->len >= CRYPT_MAX_PASSPHRASE_SIZE)
		return err_set(err, DS_E_USAGE, "the password is %zu bytes; "
			       "%s hashes at most %d (libcrypt): use a "
			       "shorter one, or password_scheme = ARGON2ID",
			       s->len, pw_scheme_name(scheme),
			       CRYPT_MAX_PASSPHRASE_SIZE - 1);
	/* NULL random bytes: libxcrypt takes them from getrandom(2) */
	if (crypt_gensalt_rn(prefix, count, NULL, 0, setting,
			     sizeof(setting)) == NULL) {
		err->lib_rc = errno;
		return err_set(err, DS_E_INTERNAL, "crypt_gensalt_rn(%s): %s",
			       prefix, strerror(errno));
	}
	cd = calloc(1, sizeof(*cd));   /* about 32 KiB: not on the stack */
	if (cd == NULL)
		return err_set(err, DS_E_NOMEM, "out of memory");
	if (crypt_rn(s->p, setting, cd, sizeof(*cd)) == NULL ||
	    cd->output[0] == '*') {
		err->lib_rc = errno;
		err_set(err, DS_E_INTERNAL, "crypt_rn(%s) failed", prefix);
		goto done;
	}
	if ((size_t)snprintf(out, outlen, "{%s}%s", pw_scheme_name(scheme),
			     cd->output) >= outlen) {
		err_set(err, DS_E_INTERNAL, "hash longer than %zu bytes",
			outlen);
		goto done;
	}
	rc = 0;
done:
	explicit_bzero(cd, sizeof(*cd));   /* held the phrase's key schedule */
	free(cd);
	return rc;
}

static int
hash_argon2(const struct pw_secret *s, char *out, size_t outlen,
	    struct err *err)
{
	uint8_t salt[ARGON2_SALT];
	char enc[PW_HASH_MAX];
	size_t need = argon2_encodedlen(ARGON2_T, ARGON2_M_KIB, ARGON2_P,
					ARGON2_SALT, ARGON2_HASHLEN,
					Argon2_id);
	int rc;

	if (need > sizeof(enc))
		return err_set(err, DS_E_INTERNAL, "argon2 hash too long");
	if (getrandom(salt, sizeof(salt), 0) != (ssize_t)sizeof(salt)) {
		err->lib_rc = errno;
		return err_set(err, DS_E_INTERNAL, "getrandom: %s",
			       strerror(errno));
	}
	rc = argon2id_hash_encoded(ARGON2_T, ARGON2_M_KIB, ARGON2_P, s->p,
				   s->len, salt, sizeof(salt), ARGON2_HASHLEN,
				   enc, sizeof(enc));
	if (rc != ARGON2_OK) {
		err->lib_rc = rc;
		return err_set(err, DS_E_INTERNAL, "argon2id: %s",
			       argon2_error_message(rc));
	}
	if ((size_t)snprintf(out, outlen, "{ARGON2ID}%s", enc) >= outlen)
		return err_set(err, DS_E_INTERNAL, "hash longer than %zu "
			       "bytes", outlen);
	return 0;
}

int
pw_hash(enum pw_scheme scheme, const struct pw_secret *s, char *out,
	size_t outlen, struct err *err)
{
	if (scheme == PW_ARGON2ID)
		return hash_argon2(s, out, outlen, err);
	return hash_crypt(scheme, s, out, outlen, err);
}

bool
pw_verify(const char *hash, const char *pw)
{
	const char *body = strchr(hash, '}');
	struct crypt_data *cd;
	bool ok;

	if (hash[0] != '{' || body == NULL)
		return false;
	body++;
	if (strncmp(hash, "{ARGON2ID}", 10) == 0)
		return argon2id_verify(body, pw, strlen(pw)) == ARGON2_OK;
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return false;
	ok = crypt_rn(pw, body, cd, sizeof(*cd)) != NULL &&
	     strcmp(cd->output, body) == 0;
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}

void
pw_harden_process(void)
{
	/* no core file, no ptrace by other processes of the same user */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}
