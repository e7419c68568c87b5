/*
 * Secret keys: one per file, mode 0600, kept in sodium_malloc memory.
 *
 *	ed25519-secret KID BASE64(32-byte seed)
 *	hmac-sha256-secret KID BASE64(32-byte key)
 *
 * Blank lines and '#' comments are allowed around the one key line.  The
 * Ed25519 key pair is derived from the seed with crypto_sign_seed_keypair.
 * Files are created with O_CREAT|O_EXCL|O_NOFOLLOW and mode 0600, so an
 * existing file, or a symbolic link planted where the key goes, is never
 * written through.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"

void
audit_seckey_free(struct audit_seckey *k)
{
	if (k == NULL)
		return;
	if (k->sk != NULL)
		audit_secret_free(k->sk);
	sodium_memzero(k, sizeof(*k));
	free(k);
}

static struct audit_seckey *
seckey_new(const char *kid, enum audit_keytype type, struct audit_err *err)
{
	struct audit_seckey *k;

	if (!audit_kid_valid(kid, strlen(kid))) {
		audit_errf(err, "a key id is 1 to 64 characters of A-Z a-z 0-9 "
		    ". _ -");
		return NULL;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL ||
	    (k->sk = audit_secret_alloc(type == AUDIT_KEY_ED25519 ?
	    crypto_sign_SECRETKEYBYTES : AUDIT_MAC_LEN)) == NULL) {
		free(k);
		audit_errf(err, "out of memory");
		return NULL;
	}
	snprintf(k->kid, sizeof(k->kid), "%s", kid);
	k->type = type;
	return k;
}

int
audit_seckey_from_seed(struct audit_seckey **out, const char *kid,
    const uint8_t seed[32], struct audit_err *err)
{
	struct audit_seckey *k = seckey_new(kid, AUDIT_KEY_ED25519, err);

	*out = NULL;
	if (k == NULL)
		return -1;
	crypto_sign_seed_keypair(k->pk, k->sk, seed);
	sodium_mprotect_readonly(k->sk);
	*out = k;
	return 0;
}

/* A fresh Ed25519 key, as the proxy makes its audit key at boot. */
int
audit_seckey_generate(struct audit_seckey **out, const char *kid,
    struct audit_err *err)
{
	uint8_t seed[32];
	int rc;

	randombytes_buf(seed, sizeof(seed));
	rc = audit_seckey_from_seed(out, kid, seed, err);
	sodium_memzero(seed, sizeof(seed));
	return rc;
}

/* Parse the one key line of a secret key file. */
static int
parse_secret(char *buf, size_t len, struct audit_seckey **out,
    struct audit_err *err)
{
	char *line = NULL, *save = NULL, *tok[4];
	uint8_t *raw = NULL;
	size_t ntok = 0;
	int rc = -1;

	if (memchr(buf, '\0', len) != NULL)
		return audit_errf(err, "a key file is text: it holds a NUL "
		    "byte");
	for (char *l = strtok_r(buf, "\n", &save); l != NULL;
	    l = strtok_r(NULL, "\n", &save)) {
		char *q = l + strspn(l, " \t\r");

		if (*q == '\0' || *q == '#')
			continue;
		if (line != NULL)
			return audit_errf(err, "more than one key line");
		line = q;
	}
	if (line == NULL)
		return audit_errf(err, "no key line");
	for (char *t = strtok_r(line, " \t\r", &save); t != NULL && ntok < 4;
	    t = strtok_r(NULL, " \t\r", &save))
		tok[ntok++] = t;
	if (ntok != 3 || (strcmp(tok[0], "ed25519-secret") != 0 &&
	    strcmp(tok[0], "hmac-sha256-secret") != 0))
		return audit_errf(err, "expected: ed25519-secret KID KEY, or "
		    "hmac-sha256-secret KID KEY");
	if ((raw = sodium_malloc(32)) == NULL)
		return audit_errf(err, "out of memory");
	if (audit_unb64(raw, 32, tok[2], strlen(tok[2])) != 0) {
		audit_errf(err, "the key is not the base64 of exactly 32 "
		    "bytes");
		goto out;
	}
	if (strcmp(tok[0], "ed25519-secret") == 0)
		rc = audit_seckey_from_seed(out, tok[1], raw, err);
	else if ((*out = seckey_new(tok[1], AUDIT_KEY_HMAC, err)) != NULL) {
		memcpy((*out)->sk, raw, AUDIT_MAC_LEN);
		sodium_mprotect_readonly((*out)->sk);
		rc = 0;
	}
out:
	sodium_free(raw);
	return rc;
}

int
audit_seckey_load(struct audit_seckey **out, const char *path,
    struct audit_err *err)
{
	struct audit_err e;
	char *buf;
	size_t len;
	int rc;

	*out = NULL;
	if (audit_read_keyfile(path, 1, &buf, &len, err) != 0)
		return -1;
	rc = parse_secret(buf, len, out, &e);
	sodium_free(buf);	/* wipes it */
	if (rc != 0)
		return audit_errf(err, "%s: %s", path, e.msg);
	return 0;
}

/*
 * Write the key to a new file, mode 0600.  An existing file is an error:
 * a key is never overwritten.
 */
int
audit_seckey_save(const struct audit_seckey *k, const char *path,
    struct audit_err *err)
{
	char *text = NULL, b64[64];
	size_t cap = 160;
	int fd, n, rc = -1;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0)
		return audit_errf(err, "%s: %s", path, strerror(errno));
	if ((text = sodium_malloc(cap)) == NULL) {
		audit_errf(err, "out of memory");
		goto out;
	}
	/* The file holds the seed, the first half of libsodium's secret. */
	audit_b64(b64, sizeof(b64), k->sk, 32);
	n = snprintf(text, cap, "%s %s %s\n", k->type == AUDIT_KEY_ED25519 ?
	    "ed25519-secret" : "hmac-sha256-secret", k->kid, b64);
	sodium_memzero(b64, sizeof(b64));
	if (audit_writeall(fd, text, (size_t)n) != 0 || fsync(fd) != 0) {
		audit_errf(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (text != NULL)
		sodium_free(text);
	if (close(fd) != 0 && rc == 0)
		rc = audit_errf(err, "%s: %s", path, strerror(errno));
	if (rc != 0)
		unlink(path);
	return rc;
}

/* The keyring line that trusts k: "KID ed25519 BASE64 [ROLE]". */
int
audit_keyring_line(const struct audit_seckey *k, const char *role, char *buf,
    size_t bufsz)
{
	char b64[64];
	int n;

	if (k->type != AUDIT_KEY_ED25519)
		return -1;
	audit_b64(b64, sizeof(b64), k->pk, AUDIT_PK_LEN);
	n = snprintf(buf, bufsz, "%s ed25519 %s%s%s", k->kid, b64,
	    role != NULL ? " " : "", role != NULL ? role : "");
	return n < 0 || (size_t)n >= bufsz ? -1 : 0;
}
