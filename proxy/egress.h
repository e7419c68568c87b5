/*
 * The pod's way out (egress.c): nucleus-proxy serves HTTP proxy requests
 * (CONNECT, and absolute-URI requests for plain HTTP) and SOCKS5 CONNECT
 * on the pod's loopback, decides and records each connection, and asks
 * the host's gateway for it (nucleus-gateway(8)).  The parsers
 * (egress_parse.c) are pure functions of the bytes read so far.
 */
#ifndef NUCLEUS_PROXY_EGRESS_H
#define NUCLEUS_PROXY_EGRESS_H

#include <stddef.h>
#include <stdint.h>

#include "netspec.h"

#define EGRESS_PORT		3128	/* on the pod's 127.0.0.1 */
#define EGRESS_PORT_TEXT	"3128"
#define EGRESS_HEADER_MAX	8192	/* bytes of a request's header */
#define EGRESS_HEADER_MS	10000	/* for the header to come */
#define EGRESS_CLIENTS_MAX	256	/* clients at once */
#define EGRESS_TOKEN_HEADER	"Nucleus-Approval"
#define EGRESS_TOKEN_USER	"approval"	/* Proxy-Authorization's */
#define EGRESS_REFUSAL_HEADER	"Nucleus-Refusal"	/* a 403's kind */
#define EGRESS_DIGEST_HEADER	"Nucleus-Args-Digest"	/* what a token
							   must name */

enum egress_parse {
	EP_MORE = 0,		/* not whole yet */
	EP_OK = 1,
	EP_BAD = -1,		/* answered with why */
};

struct egress_target {
	int	 socks;		/* SOCKS5, else HTTP */
	int	 connect;	/* CONNECT, else a plain HTTP request */
	char	 host[NET_HOST_MAX + 3];	/* as the client named it */
	int	 port;
	size_t	 used;		/* bytes of the buffer the header took */
	/* HTTP: the approval token's header value */
	const char *token;
	size_t	 token_len;
	/* HTTP: Proxy-Authorization's Basic credentials, base64 (a token
	 * as the password of user EGRESS_TOKEN_USER: egress.c) */
	const char *basic;
	size_t	 basic_len;
	/* a plain HTTP request: method and origin-form target */
	const char *method, *path;
	size_t	 method_len, path_len;
	const char *why;	/* EP_BAD: what was wrong */
	int	 socks_reply;	/* EP_BAD, SOCKS5: the reply code */
};

/* HTTP: the request line and header in buf[0..len). */
int	 egress_parse_http(const char *, size_t, struct egress_target *);
/* SOCKS5: the greeting; t->used its length. */
int	 egress_parse_socks_hello(const uint8_t *, size_t,
	    struct egress_target *);
/* SOCKS5: the request after the greeting. */
int	 egress_parse_socks_request(const uint8_t *, size_t,
	    struct egress_target *);
/* The header lines of a plain request to pass on: 1 to keep. */
int	 egress_header_kept(const char *, size_t);

#endif /* NUCLEUS_PROXY_EGRESS_H */
