/*
 * Hashes and encodings: BLAKE2b-256, lowercase hex, standard padded
 * base64, key and log ids.  Decoding is exact: a wrong length, a stray
 * character or a non-canonical spelling is refused, so that every value
 * has one written form.
 */
#include <stdarg.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"

/* Fill err (when not NULL) with a message, cut at its size; return -1.
 * (The name in parentheses: not the analyser's macro, audit.h.) */
int
(audit_errf)(struct audit_err *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

void
audit_hash(uint8_t out[AUDIT_HASH_LEN], const void *p, size_t n)
{
	crypto_generichash(out, AUDIT_HASH_LEN, p, n, NULL, 0);
}

/* out holds 2n+1 bytes. */
void
audit_hex(char *out, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;	/* uppercase is not the written form */
}

/* Exactly outlen bytes from exactly 2*outlen lowercase hex digits. */
int
audit_unhex(uint8_t *out, size_t outlen, const char *s, size_t slen)
{
	if (slen != 2 * outlen)
		return -1;
	for (size_t i = 0; i < outlen; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* Characters of the base64 of n bytes, NUL included. */
size_t
audit_b64_len(size_t n)
{
	return sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
}

void
audit_b64(char *out, size_t outsz, const uint8_t *p, size_t n)
{
	sodium_bin2base64(out, outsz, p, n, sodium_base64_VARIANT_ORIGINAL);
}

/*
 * Exactly outlen bytes from their canonical base64: decoding must use the
 * whole string and encoding the result must give it back (no unused bits
 * set, no missing padding, nothing ignored).
 */
int
audit_unb64(uint8_t *out, size_t outlen, const char *s, size_t slen)
{
	char again[1024];
	const char *end;
	size_t got;

	if (slen + 1 != audit_b64_len(outlen) || slen >= sizeof(again))
		return -1;
	if (sodium_base642bin(out, outlen, s, slen, NULL, &got, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || got != outlen ||
	    end != s + slen)
		return -1;
	audit_b64(again, sizeof(again), out, outlen);
	return memcmp(again, s, slen) == 0 ? 0 : -1;
}

static int
id_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static int
id_valid(const char *s, size_t len, size_t max)
{
	if (len < 1 || len > max)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!id_char(s[i]))
			return 0;
	return 1;
}

/* 1 to 64 characters of [A-Za-z0-9._-]. */
int
audit_kid_valid(const char *s, size_t len)
{
	return id_valid(s, len, AUDIT_KID_MAX);
}

/* 1 to 128 characters of [A-Za-z0-9._-]. */
int
audit_logid_valid(const char *s, size_t len)
{
	return id_valid(s, len, AUDIT_LOGID_MAX);
}

/*
 * The one grammar of a pod's name (nucleus-pod(5)): 1 to 64 characters of
 * [A-Za-z0-9._-], the first a letter or a digit.  A pod's name becomes a
 * directory, a socket, a cgroup and a log id, so ".", ".." and the hidden
 * ".x" never get that far, nor "-x", which a command would read as an
 * option.
 */
int
audit_podname_valid(const char *s, size_t len)
{
	if (s == NULL || !id_valid(s, len, AUDIT_PODNAME_MAX))
		return 0;
	return (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
	    (s[0] >= '0' && s[0] <= '9');
}

/*
 * Open a file to read, refusing anything but a regular file: a FIFO, a
 * device or a directory put where a log, a keyring or a state file is
 * expected must not hang or fool the reader.  Opened without blocking
 * (so a FIFO with no writer cannot hold the open), then checked by
 * fstat(2); extra is ORed into the flags (O_NOFOLLOW).  The fd keeps
 * O_NONBLOCK, which a regular file's reads ignore: no fcntl(2), which
 * the confined readers that load keyrings (the authority's reader) do
 * not allow.  Returns the fd, or -1 with err saying why, without the
 * path, and errno kept when the open itself failed.
 */
int
audit_open_regular(const char *path, int extra, struct stat *st,
    struct audit_err *err)
{
	struct stat sb;
	int fd, e;

	if (st == NULL)
		st = &sb;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | extra);
	if (fd < 0) {
		e = errno;
		audit_errf(err, "%s", strerror(e));
		errno = e;	/* ENOENT, for a file that may be absent */
		return -1;
	}
	if (fstat(fd, st) != 0) {
		e = errno;
		audit_errf(err, "%s", strerror(e));
	} else if (!S_ISREG(st->st_mode)) {
		e = EINVAL;
		audit_errf(err, "not a regular file");
	} else
		return fd;
	close(fd);
	errno = e;
	return -1;
}

/* write(2) all of p, across short writes and signals. */
int
audit_writeall(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}
