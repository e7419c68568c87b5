/*
 * web_fetch (fetch.c): a GET or HEAD of an http or https URL, made off
 * the event loop through the pod's own egress listener, so that every
 * connection it opens (the first and each redirect's) is decided and
 * recorded as a CONNECT is.  The HTTP and TLS work is libcurl's, in a
 * backend (curl/fetch.c) that only the dynamic nucleus-proxy links: a
 * build without it (the static guest proxy, the unit tests) answers
 * web_fetch unavailable.
 */
#ifndef NUCLEUS_FETCH_H
#define NUCLEUS_FETCH_H

#include <stddef.h>

#include <jansson.h>

#include "args.h"
#include "audit.h"
#include "policy.h"

#define FETCH_BODY_DEFAULT	262144	/* body bytes kept without max_bytes */
#define FETCH_REDIRECTS_MAX	5	/* redirects followed, each re-checked */
#define FETCH_TIMEOUT_S		30	/* the whole fetch, every hop */
#define FETCHES_MAX		4	/* fetches running in the pod */

#define FETCH_SYSTEM_CA		"/etc/ssl/certs/ca-certificates.crt"
#define FETCH_SYSTEM_CA_MAX	(4 * 1024 * 1024)	/* bytes of it read */

/* One fetch, from the loop to the backend's thread and back. */
struct fetch {
	char	 url[FETCH_URL_MAX + 1];
	int	 head;
	size_t	 cap;
	int	 no_follow;		/* a redirect is the answer (search) */
	size_t	 search;		/* web_search: results wanted, or 0 */
	char	*token;			/* the first connection's approval
					   token, its JSON text, or NULL */
	const char *ca;			/* the CAs trusted, PEM, or NULL: */
	size_t	 ca_len;		/* libcurl's default store */
	json_t	*result;		/* set on success */
	char	 digest[AUDIT_HEX_LEN + 1];	/* approval_required: the
					   args_digest a connect token names */
	const char *kind;		/* else an error kind */
	char	 why[POLICY_REASON_MAX];
};

struct fetch_backend {
	int	(*init)(char *, size_t);	/* before the filter */
	void	(*run)(struct fetch *);		/* on its own thread */
};
extern const struct fetch_backend *fetch_backend;

struct req;

int	 fetch_init(char *, size_t);
int	 fetch_take(int, const char **, char *, size_t);
void	 fetch_give(void);
int	 fetch_start(struct req *);
void	 fetch_done(struct req *);

#endif /* NUCLEUS_FETCH_H */
