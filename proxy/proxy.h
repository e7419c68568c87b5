/*
 * nucleus-proxy: the enforcing tool proxy.  See nucleus-proxy(8) and
 * nucleus-protocol(7).
 */
#ifndef NUCLEUS_PROXY_H
#define NUCLEUS_PROXY_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <pthread.h>

#include <ev.h>
#include <jansson.h>

#include "audit.h"
#include "doneq.h"
#include "envelope.h"
#include "config.h"
#include "fetch.h"
#include "fs.h"
#include "policy.h"
#include "resolve.h"

/*
 * A request, from its line to its response.  Each stage that writes an
 * audit record waits for that record to be durable before the next.
 */
enum req_stage {
	STAGE_DECIDE,		/* decision record submitted */
	STAGE_SEARCH,		/* a glob or grep is with a worker */
	STAGE_EFFECT,		/* the side effect is running */
	STAGE_FETCH,		/* a web_fetch is on its thread (fetch.c) */
	STAGE_OUTCOME,		/* outcome record submitted */
	STAGE_DONE
};

struct conn;
struct job;

struct req {
	struct req *next;	/* on the completion queue */
	struct conn *conn;	/* NULL once the connection is gone */
	enum req_stage stage;
	json_t	*id;		/* the request's id, or null */
	char	 kid[AUDIT_KID_MAX + 1];
	char	 op[32];
	enum policy_op pop;
	json_t	*req;		/* the parsed request */
	struct envelope env;	/* its envelope (envelope.c) */
	json_t	*args;
	char	 args_digest[AUDIT_HEX_LEN + 1];
	struct policy_decision d;
	const char *kind;	/* an error kind libpolicy has no name for */
	char	 approval_id[AUDIT_LOGID_MAX + 1];	/* a token used */
	char	 approval_nonce[2 * AUDIT_NONCE_LEN + 1];
	int64_t	 reserved;	/* micro-dollars held for it */
	json_t	*response;	/* built when the outcome is known */
	json_t	*outcome;	/* the outcome record's members */
	struct job *job;	/* a running command */
	struct fetch *fetch;	/* a running web_fetch */
	/* from a search worker */
	json_t	*found;
	enum policy_kind found_kind;
	char	 found_why[POLICY_REASON_MAX];
	/* from the audit log's completion */
	int	 connection;	/* a connection's decision (egress.c) */
	void	*egress;	/* and its client, or NULL once gone */
	int	 audit_error;
	uint64_t audit_seq;
	char	 audit_hash[AUDIT_HEX_LEN + 1];
};

struct conn {
	struct conn *next;
	int	 fd;
	ev_io	 rio, wio;
	char	 rbuf[65536];	/* read, not yet taken */
	size_t	 rlen, roff;
	int	 pumping;	/* in pump(): c is held */
	char	*in;		/* a line being read */
	size_t	 inlen;
	int	 overlong;	/* discarding until the newline */
	size_t	 overlong_bytes;
	crypto_generichash_state overlong_hash;
	struct audit_buf out;	/* responses not yet written */
	size_t	 outoff;
	int	 pending;	/* requests not yet answered */
	int	 eof;		/* the peer sends no more; answers still go */
	int	 closed;	/* the peer is gone */
	int	 persists;	/* a VM's port: its host may come back */
	int	 hostless;	/* and is gone for now */
	int	 node_wait;	/* accepted on -f's listener: taken for the
				   node once it says what its copy holds
				   (audit.resume, record.c) */
	ev_timer retry;		/* looking for it again */
};

struct proxy {
	struct config cfg;
	struct ev_loop *loop;
	struct audit_seckey *key;
	struct audit_log *log;
	char	 log_id[AUDIT_LOGID_MAX + 1];
	char	 log_path[PATH_MAX];
	struct audit_keyring trust;
	struct resolve_root root;	/* the work root (resolve.c) */
	struct pstate *state;
	struct doneq done;	/* requests whose record completed */
	/* -A: the audit lines made durable, for the node's copy */
	struct conn *copy_conn;
	pthread_mutex_t copy_mu;
	struct audit_buf copy;
	off_t	 copy_end;	/* bytes of the log teed so far, under
				   copy_mu: copy holds the last of them */
	int	 copy_rfd;	/* the log, read again for a node that
				   comes back */
	int	 copy_listener;	/* -f is a listening socket: the node
				   connects, and may connect again */
	struct conn *conns;
	int	 nconns;
	int	 listen_fds[3];
	ev_io	 listen_io[3];
	int	 nlisten;
	int	 commands;	/* running */
	int	 stopped;	/* the audit log failed: refuse everything */
	int	 stop_told;	/* -A: and the node was told so */
	struct spawner *spawner;
};

extern struct proxy *P;

/* serve.c */
#define CHANNEL_RETRY_MS 50	/* a port without its host, looked at */
int	 serve_listen(struct proxy *, struct audit_err *);
void	 serve_send(struct conn *, json_t *);
void	 serve_send_raw(struct conn *, const char *, size_t);
void	 serve_release(struct conn *);
void	 serve_drop(struct conn *);

/* -I (init.c): PID 1's work; returns in the proxy proper. */
void	 init_pid1(struct config *);

/* request.c */
int	 request_parse(struct req *, const char *, size_t, const char **);
void	 request_line(struct conn *, const char *, size_t);
void	 request_overlong(struct conn *, size_t, const uint8_t *);
void	 request_advance(struct req *);
void	 request_free(struct req *);

/* egress.c: the pod's way out */
struct netspec;
int	 egress_listen(struct netspec *, int, int, struct audit_err *);
/* A VM's egress port (egress_mux.c): *gw is egress_listen's gateway. */
int	 egress_mux_start(struct ev_loop *, int, int *, struct audit_err *);
/* Under Firecracker: a vsock connection per stream to the host's port. */
int	 egress_vsock_start(struct ev_loop *, int, int *, struct audit_err *);
void	 egress_advance(struct req *);
/* A new gateway's connection, from a node that took the pod back. */
void	 egress_gateway_again(int);

/* record.c */
#define SUBJECT_RECORD_MAX 4096	/* bytes of a refused request's subject
				   (canonical JSON) recorded whole */
#define SUBJECT_PREFIX_MAX 1024	/* bytes of its strings recorded when it
				   is longer */
void	 record_done(void *, int, uint64_t, const char *);
int	 record_submit(struct req *, json_t *);
int	 record_submit_here(struct req *, json_t *);
void	 record_drain(struct ev_loop *, ev_async *, int);
int	 record_copy_start(struct proxy *, struct audit_err *);
void	 record_tell_stopped(void);
int	 record_resume(struct conn *, const char *, size_t);
json_t	*record_decision(const struct req *);

/* refusals.c: what one agent's refusals may cost the log (counted by
 * libdaemon's rwin.c, RWIN_KEYS agents at once) */
int	 refusals_admit(const char *, const char *, char *, size_t);
json_t	*refusals_record(const struct req *, const char *);
void	 refusals_tick(int);

/* reclaim.c: -A, the log's space given back once the node holds it */
#define RECLAIM_MARKS	4096	/* batch ends remembered, not yet copied */
void	 reclaim_start(const char *, off_t, uint64_t);
void	 reclaim_teed(const char *, size_t);
int	 reclaim_line(const char *, size_t);
off_t	 reclaim_punched(void);
void	 reclaim_base(off_t *, uint64_t *);

/* pack.c: the pod's work, packed for the node (the VM drivers) */
int	 pack_line(struct conn *, const char *, size_t);

/* worker.c */
int	 worker_start(struct audit_err *);
void	 worker_submit(struct req *);
int	 worker_take(const char *, char *, size_t);
void	 worker_give(const char *);

/* respond.c */
json_t	*respond_ok(const struct req *, json_t *);
json_t	*respond_error(const struct req *, const char *, const char *);

#endif /* NUCLEUS_PROXY_H */
