/*
 * The proxy requests a command in the pod may make (egress.h), parsed
 * from the bytes read so far: never past len, never kept.
 *
 *	CONNECT host:port HTTP/1.1		any TCP, by name or address
 *	GET http://host[:port]/path HTTP/1.1	plain HTTP (its Host
 *						header the URL's)
 *	SOCKS5: 05 n methods...; then 05 01 00 atyp addr port
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include "egress.h"

/* An address of 4 (v4) or 16 bytes as text. */
static int
inet_ntop_host(int v4, const uint8_t *a, char *out, size_t sz)
{
	return inet_ntop(v4 ? AF_INET : AF_INET6, a, out, (socklen_t)sz) ==
	    NULL ? -1 : 0;
}

static int
bad(struct egress_target *t, const char *why, int socks_reply)
{
	t->why = why;
	t->socks_reply = socks_reply;
	return EP_BAD;
}

/* Printable ASCII, no space: what a host may be, and a record hold. */
static int
printable(const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return 0;
	return 1;
}

/* A port of 1 to 65535, all digits. */
static int
port_of(const char *s, size_t n)
{
	int v = 0;

	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 65535 ? v : -1;
}

/* host[:port] or [v6][:port] into t; def when no port. */
static int
authority(const char *s, size_t n, int def, struct egress_target *t)
{
	const char *colon;
	size_t hlen;

	if (n > 0 && s[0] == '[') {
		const char *end = memchr(s, ']', n);

		if (end == NULL)
			return -1;
		hlen = (size_t)(end - s) + 1;
		colon = hlen < n && s[hlen] == ':' ? s + hlen : NULL;
		if (colon == NULL && hlen != n)
			return -1;
	} else {
		colon = memrchr(s, ':', n);
		hlen = colon != NULL ? (size_t)(colon - s) : n;
	}
	if (hlen == 0 || hlen >= sizeof(t->host) || !printable(s, hlen) ||
	    memchr(s, '@', hlen))
		return -1;
	memcpy(t->host, s, hlen);
	t->host[hlen] = '\0';
	t->port = colon != NULL ? port_of(colon + 1, n - hlen - 1) : def;
	return t->port > 0 ? 0 : -1;
}

int
egress_header_kept(const char *line, size_t n)
{
	/* Host too: the request's own URL names the host (RFC 9112
	 * 3.2.2), and the proxy says it again, so that the server the
	 * gateway dialled is asked for the name the allowlist admitted,
	 * not another it may also serve. */
	static const char *const dropped[] = { "proxy-", "connection:",
	    "keep-alive:", "host:", EGRESS_TOKEN_HEADER ":", NULL };

	for (int i = 0; dropped[i] != NULL; i++) {
		size_t d = strlen(dropped[i]);

		if (n >= d && strncasecmp(line, dropped[i], d) == 0)
			return 0;
	}
	return 1;
}

/* Proxy-Authorization: Basic CREDENTIALS, their base64 in t. */
static void
basic(const char *v, size_t vn, struct egress_target *t)
{
	static const char name[] = "Proxy-Authorization:";

	if (vn <= sizeof(name) - 1 || strncasecmp(v, name, sizeof(name) - 1))
		return;
	v += sizeof(name) - 1;
	vn -= sizeof(name) - 1;
	while (vn > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vn--;
	}
	if (vn <= 6 || strncasecmp(v, "Basic ", 6) != 0)
		return;
	v += 6;
	vn -= 6;
	while (vn > 0 && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
		vn--;
	t->basic = v;
	t->basic_len = vn;
}

/* The token header's value, if the header has one. */
static void
headers(const char *p, const char *end, struct egress_target *t)
{
	static const char name[] = EGRESS_TOKEN_HEADER ":";

	while (p < end) {
		const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		size_t n = eol != NULL ? (size_t)(eol - p) : (size_t)(end - p);

		if (n > sizeof(name) - 1 && strncasecmp(p, name,
		    sizeof(name) - 1) == 0) {
			const char *v = p + sizeof(name) - 1;
			size_t vn = n - (sizeof(name) - 1);

			while (vn > 0 && (*v == ' ' || *v == '\t')) {
				v++;
				vn--;
			}
			while (vn > 0 && (v[vn - 1] == ' ' ||
			    v[vn - 1] == '\t'))
				vn--;
			t->token = v;
			t->token_len = vn;
		}
		basic(p, n, t);
		p += n + 2;
	}
}

/* A CR or LF that is not part of a CRLF: lines a server downstream may
 * split where the proxy did not. */
static int
bare_eol(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((p[i] == '\r' && (i + 1 == n || p[i + 1] != '\n')) ||
		    (p[i] == '\n' && (i == 0 || p[i - 1] != '\r')))
			return 1;
	return 0;
}

int
egress_parse_http(const char *buf, size_t len, struct egress_target *t)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4);
	const char *eol, *sp1, *sp2, *uri;
	size_t ulen;

	memset(t, 0, sizeof(*t));
	if (end == NULL)
		return len >= EGRESS_HEADER_MAX ? bad(t, "the request's header "
		    "is longer than EGRESS_HEADER_MAX", 0) : EP_MORE;
	if (memchr(buf, '\0', (size_t)(end - buf)) != NULL)
		return bad(t, "a NUL byte in the header", 0);
	if (bare_eol(buf, (size_t)(end - buf) + 2))
		return bad(t, "a CR or LF not ending a line in the header", 0);
	t->used = (size_t)(end - buf) + 4;
	eol = memmem(buf, (size_t)(end - buf) + 2, "\r\n", 2);
	if ((sp1 = memchr(buf, ' ', (size_t)(eol - buf))) == NULL ||
	    (sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1))) == NULL ||
	    (size_t)(eol - sp2 - 1) != 8 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0)
		return bad(t, "expected METHOD TARGET HTTP/1.x", 0);
	uri = sp1 + 1;
	ulen = (size_t)(sp2 - uri);
	t->method = buf;
	t->method_len = (size_t)(sp1 - buf);
	if (t->method_len == 7 && memcmp(buf, "CONNECT", 7) == 0) {
		t->connect = 1;
		if (authority(uri, ulen, -1, t) != 0)
			return bad(t, "CONNECT: expected host:port", 0);
	} else {
		const char *slash;
		size_t alen;

		if (ulen < 8 || strncasecmp(uri, "http://", 7) != 0)
			return bad(t, "expected CONNECT, or an absolute "
			    "http:// URL (https goes through CONNECT)", 0);
		uri += 7;
		ulen -= 7;
		slash = memchr(uri, '/', ulen);
		alen = slash != NULL ? (size_t)(slash - uri) : ulen;
		if (authority(uri, alen, 80, t) != 0)
			return bad(t, "expected http://host[:port]/path", 0);
		t->path = slash != NULL ? slash : "/";
		t->path_len = slash != NULL ? ulen - alen : 1;
	}
	headers(eol + 2, end + 2, t);
	return EP_OK;
}

int
egress_parse_socks_hello(const uint8_t *b, size_t len,
    struct egress_target *t)
{
	memset(t, 0, sizeof(*t));
	t->socks = 1;
	if (len < 2)
		return EP_MORE;
	if (b[0] != 5 || b[1] == 0)
		return bad(t, "not a SOCKS5 greeting", 0xff);
	if (len < 2 + (size_t)b[1])
		return EP_MORE;
	t->used = 2 + (size_t)b[1];
	/* No authentication: the only method offered back. */
	if (memchr(b + 2, 0, b[1]) == NULL)
		return bad(t, "SOCKS5: only the method without authentication "
		    "is served", 0xff);
	return EP_OK;
}

int
egress_parse_socks_request(const uint8_t *b, size_t len,
    struct egress_target *t)
{
	size_t alen;

	memset(t, 0, sizeof(*t));
	t->socks = 1;
	t->connect = 1;
	if (len < 5)
		return EP_MORE;
	if (b[0] != 5 || b[2] != 0)
		return bad(t, "not a SOCKS5 request", 1);
	if (b[1] != 1)
		return bad(t, "SOCKS5: only CONNECT is served (no BIND, no UDP)",
		    7);
	switch (b[3]) {
	case 1: alen = 4; break;
	case 3: alen = 1 + (size_t)b[4]; break;
	case 4: alen = 16; break;
	default: return bad(t, "SOCKS5: unknown address type", 8);
	}
	if (len < 4 + alen + 2)
		return EP_MORE;
	t->used = 4 + alen + 2;
	if (b[3] == 3) {
		if (b[4] == 0 || !printable(b + 5, b[4]))
			return bad(t, "SOCKS5: an empty name, or one of other "
			    "than printable ASCII", 1);
		memcpy(t->host, b + 5, b[4]);
		t->host[b[4]] = '\0';
	} else if (inet_ntop_host(b[3] == 1, b + 4, t->host,
	    sizeof(t->host)) != 0)
		return bad(t, "SOCKS5: a bad address", 1);
	t->port = (int)b[4 + alen] << 8 | b[5 + alen];
	if (t->port == 0)
		return bad(t, "SOCKS5: port 0", 1);
	return EP_OK;
}
