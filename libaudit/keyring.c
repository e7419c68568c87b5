/*
 * Keyrings, one key per line, like authorized_keys:
 *
 *	KID ed25519 BASE64(32-byte public key) [ROLE [comment...]]
 *	KID hmac-sha256 BASE64(32-byte key) [ROLE [comment...]]
 *
 * Blank lines and lines starting with '#' are skipped.  A keyring holding
 * an HMAC key is a secret: it is refused when group or others may read
 * it, and the HMAC keys live in sodium_malloc memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"

/*
 * Read a key file (at most AUDIT_KEYFILE_MAX bytes) into sodium_malloc
 * memory, NUL-terminated; the caller sodium_free()s it.  With secret, the
 * file is opened without following a symbolic link and refused when group
 * or others have any access to it.  *modep, when not NULL, gets the
 * file's mode.
 */
static int
keyfile_check(int fd, const char *path, int secret, struct stat *st,
    struct audit_err *err)
{
	if (fstat(fd, st) != 0)
		return audit_errf(err, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st->st_mode))
		return audit_errf(err, "%s: not a regular file", path);
	if (secret && (st->st_mode & 077) != 0)
		return audit_errf(err, "%s: a secret key file must not be "
		    "accessible to group or others (mode %04o; chmod 600 it)",
		    path, (unsigned)(st->st_mode & 07777));
	if (st->st_size > AUDIT_KEYFILE_MAX)
		return audit_errf(err, "%s: larger than %d bytes", path,
		    AUDIT_KEYFILE_MAX);
	return 0;
}

static int
read_keyfile(const char *path, int secret, char **bufp, size_t *lenp,
    mode_t *modep, struct audit_err *err)
{
	struct audit_err e;
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd = audit_open_regular(path, secret ? O_NOFOLLOW : 0, &st, &e);

	if (fd < 0)
		return audit_errf(err, "%s: %s", path, e.msg);
	if (keyfile_check(fd, path, secret, &st, err) != 0)
		goto fail;
	if ((buf = sodium_malloc((size_t)st.st_size + 1)) == NULL) {
		audit_errf(err, "%s: out of memory", path);
		goto fail;
	}
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			audit_errf(err, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(fd);
	if (modep != NULL)
		*modep = st.st_mode;
	*bufp = buf;
	*lenp = len;
	return 0;
fail:
	if (buf != NULL)
		sodium_free(buf);
	close(fd);
	return -1;
}

int
audit_read_keyfile(const char *path, int secret, char **bufp, size_t *lenp,
    struct audit_err *err)
{
	return read_keyfile(path, secret, bufp, lenp, NULL, err);
}

/* A keyring's file, whole, with its mode (for audit_keyring_from). */
int
audit_read_keyfile_mode(const char *path, char **bufp, size_t *lenp,
    mode_t *modep, struct audit_err *err)
{
	return read_keyfile(path, 0, bufp, lenp, modep, err);
}

/* Split the next whitespace-separated field off *s. */
static const char *
field(char **s, size_t *len)
{
	char *p = *s, *start;

	while (*p == ' ' || *p == '\t')
		p++;
	start = p;
	while (*p != '\0' && *p != ' ' && *p != '\t')
		p++;
	*len = (size_t)(p - start);
	*s = p;
	return *len > 0 ? start : NULL;
}

void
audit_keyring_free(struct audit_keyring *kr)
{
	for (size_t i = 0; i < kr->n; i++)
		if (kr->v[i].mac != NULL)
			audit_secret_free(kr->v[i].mac);
	free(kr->v);
	memset(kr, 0, sizeof(*kr));
}

const struct audit_pubkey *
audit_keyring_find(const struct audit_keyring *kr, const char *kid)
{
	for (size_t i = 0; i < kr->n; i++)
		if (strcmp(kr->v[i].kid, kid) == 0)
			return &kr->v[i];
	return NULL;
}

/* The roles of the keys that write logs of their own. */
static const char *const log_writers[] = { "node", "authority", "proxy" };

/*
 * 0 when k's role lets it vouch for what: a key that writes its own log
 * (no role, or a daemon's role) opens it; only a node's key certifies
 * another key for a log (a pod's).  -1 with err saying why not.
 */
int
audit_role_vouches(const struct audit_pubkey *k, enum audit_vouch what,
    struct audit_err *err)
{
	const char *role = k->role[0] != '\0' ? k->role : "(none)";

	if (k->type != AUDIT_KEY_ED25519)
		return audit_errf(err, "%s is an HMAC key: it vouches for no "
		    "log", k->kid);
	if (what == AUDIT_VOUCH_KEY_CERT) {
		if (strcmp(k->role, "node") == 0)
			return 0;
		return audit_errf(err, "%s has the role %s: only a key with "
		    "the role node certifies another key's log", k->kid,
		    role);
	}
	if (k->role[0] == '\0')
		return 0;
	for (size_t i = 0; i < sizeof(log_writers) / sizeof(*log_writers);
	    i++)
		if (strcmp(k->role, log_writers[i]) == 0)
			return 0;
	return audit_errf(err, "%s has the role %s, which writes no log "
	    "(node, authority, proxy or no role do)", k->kid, role);
}

/* Parse one non-blank, non-comment line into k. */
static int
parse_line(char *line, unsigned lineno, int secret_ok, struct audit_pubkey *k,
    struct audit_err *err)
{
	const char *kid, *type, *b64, *role;
	size_t kidlen, typelen, b64len, rolelen;
	char *s = line;

	memset(k, 0, sizeof(*k));
	kid = field(&s, &kidlen);
	type = field(&s, &typelen);
	b64 = field(&s, &b64len);
	role = field(&s, &rolelen);
	if (kid == NULL || type == NULL || b64 == NULL)
		return audit_errf(err, "line %u: expected KID TYPE KEY [ROLE "
		    "[comment]]", lineno);
	if (!audit_kid_valid(kid, kidlen))
		return audit_errf(err, "line %u: a key id is 1 to 64 "
		    "characters of "
		    "A-Z a-z 0-9 . _ -", lineno);
	memcpy(k->kid, kid, kidlen);
	if (role != NULL) {
		if (!audit_kid_valid(role, rolelen) ||
		    rolelen > AUDIT_ROLE_MAX)
			return audit_errf(err, "line %u: a role is 1 to 32 "
			    "characters of A-Z a-z 0-9 . _ -", lineno);
		memcpy(k->role, role, rolelen);
	}
	if (typelen == 7 && memcmp(type, "ed25519", 7) == 0) {
		k->type = AUDIT_KEY_ED25519;
		if (audit_unb64(k->pk, AUDIT_PK_LEN, b64, b64len) != 0)
			return audit_errf(err, "line %u: the key is not the "
			    "base64 "
			    "of exactly 32 bytes", lineno);
		return 0;
	}
	if (typelen == 11 && memcmp(type, "hmac-sha256", 11) == 0) {
		k->type = AUDIT_KEY_HMAC;
		if (!secret_ok)
			return audit_errf(err, "line %u: an hmac-sha256 key is "
			    "a "
			    "secret: the keyring must not be accessible to "
			    "group or others (chmod 600 it)", lineno);
		if ((k->mac = audit_secret_alloc(AUDIT_MAC_LEN)) == NULL)
			return audit_errf(err, "out of memory");
		if (audit_unb64(k->mac, AUDIT_MAC_LEN, b64, b64len) != 0) {
			audit_secret_free(k->mac);
			k->mac = NULL;
			return audit_errf(err, "line %u: the key is not the "
			    "base64 "
			    "of exactly 32 bytes", lineno);
		}
		return 0;
	}
	return audit_errf(err, "line %u: unknown key type (ed25519 or "
	    "hmac-sha256)", lineno);
}

/* Add k (its HMAC secret taken over) unless its kid is there already. */
static int
keyring_add(struct audit_keyring *kr, struct audit_pubkey *k,
    unsigned lineno, struct audit_err *err)
{
	struct audit_pubkey *nv = NULL;

	if (audit_keyring_find(kr, k->kid) != NULL)
		audit_errf(err, "line %u: key id %s appears twice", lineno,
		    k->kid);
	else if (kr->n == AUDIT_KEYRING_MAX)
		audit_errf(err, "line %u: more than %d keys", lineno,
		    AUDIT_KEYRING_MAX);
	else if ((nv = realloc(kr->v, (kr->n + 1) * sizeof(*kr->v))) == NULL)
		audit_errf(err, "out of memory");
	if (nv == NULL) {
		if (k->mac != NULL)
			audit_secret_free(k->mac);
		return -1;
	}
	kr->v = nv;
	kr->v[kr->n++] = *k;
	return 0;
}

/*
 * Parse a keyring held in buf (len bytes; modified in place).  HMAC keys
 * are refused unless secret_ok.
 */
int
audit_keyring_parse(struct audit_keyring *kr, const char *buf, size_t len,
    int secret_ok, struct audit_err *err)
{
	const char *p = buf, *end = buf + len;
	unsigned lineno = 0;
	char line[1024];

	memset(kr, 0, sizeof(*kr));
	if (memchr(buf, '\0', len) != NULL)
		return audit_errf(err, "a keyring is text: it holds a NUL "
		    "byte");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (nl != NULL ? nl : end) - p;
		struct audit_pubkey k;
		const char *q;

		lineno++;
		if (n >= sizeof(line)) {
			audit_errf(err, "line %u: longer than %zu bytes",
			    lineno, sizeof(line) - 1);
			goto fail;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p += n + (nl != NULL);
		for (q = line; *q == ' ' || *q == '\t'; q++)
			;
		if (*q == '\0' || *q == '#' || *q == '\r')
			continue;
		if (parse_line(line, lineno, secret_ok, &k, err) != 0)
			goto fail;
		sodium_memzero(line, sizeof(line));
		if (keyring_add(kr, &k, lineno, err) != 0)
			goto fail;
	}
	sodium_memzero(line, sizeof(line));
	return 0;
fail:
	sodium_memzero(line, sizeof(line));
	audit_keyring_free(kr);
	return -1;
}

int
audit_keyring_load(struct audit_keyring *kr, const char *path,
    struct audit_err *err)
{
	char *buf;
	size_t len;
	mode_t mode;
	int rc;

	memset(kr, 0, sizeof(*kr));
	if (read_keyfile(path, 0, &buf, &len, &mode, err) != 0)
		return -1;
	rc = audit_keyring_from(kr, path, buf, len, mode, err);
	sodium_free(buf);
	return rc;
}

/*
 * A keyring from the bytes of the file at path, read by whoever could
 * open it (audit_read_keyfile_mode): secret keys only if its mode lets
 * no one else read it.  Errors name the path and the line.
 */
int
audit_keyring_from(struct audit_keyring *kr, const char *path,
    const char *buf, size_t len, mode_t mode, struct audit_err *err)
{
	struct audit_err e;

	memset(kr, 0, sizeof(*kr));
	if (audit_keyring_parse(kr, buf, len, (mode & 077) == 0, &e) != 0)
		return audit_errf(err, "%s: %s", path, e.msg);
	return 0;
}
