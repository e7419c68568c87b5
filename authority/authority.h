/*
 * nucleus-authority: the approval authority.  See nucleus-authority(8).
 *
 * One process holds the authority's secret key.  Agents ask it for
 * approvals on the request socket with signed objects; operators decide
 * on the admin socket, or rules they wrote decide for them; every step is
 * stored in LMDB (so it survives a restart) and recorded in the
 * authority's own signed audit log.
 */
#ifndef NUCLEUS_AUTHORITY_H
#define NUCLEUS_AUTHORITY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <pthread.h>

#include <ev.h>
#include <jansson.h>
#include <lmdb.h>

#include "audit.h"
#include "reader.h"
#include "doneq.h"
#include "envelope.h"
#include "events.h"
#include "lines.h"
#include "rwin.h"
#include "policy.h"
#include "wire.h"

/* Limits, each documented in nucleus-authority(8). */
#define LINE_MAX_BYTES	(1024 * 1024)	/* bytes in one request line */
#define CONNS_MAX	128	/* connections at once, both sockets */
#define CONNS_RESERVE	16	/* more, for operators on the admin socket */
#define CONNS_PER_UID	64	/* of CONNS_MAX, one uid's (but operators on
				   the admin socket): one local user cannot
				   take the node's or other agents' */
#define OUTBUF_TOTAL	(32 * 1024 * 1024)	/* unsent bytes, all conns:
				   past it, those holding some are not read */
#define OUTBUF_SHED	(128 * 1024 * 1024)	/* past it, those holding the
				   most are closed */
#define IDLE_S		60	/* seconds a quiet connection stays (-i) */
#define LINE_S		30	/* seconds a request line may take (-s) */
#define CONN_S_MAX	3600	/* -i and -s at most */
#define CONN_INFLIGHT_MAX 64	/* lines of one connection in flight */
#define OUTBUF_MAX	(16 * 1024 * 1024)	/* unsent bytes, per conn */
#define PENDING_MAX	4096	/* requests waiting for a person */
#define AGENT_PENDING_DEFAULT 64	/* of them, one agent's (-q) */
#define CONN_WAIT_MAX	64	/* decisions one connection waits for */
#define REASON_MAX	1024	/* bytes of a reason, the agent's or not */
#define LIST_MAX	10000	/* requests one list returns */
#define SUBJECT_MAX	4096	/* bytes of a subject in a log record */
#define TTL_MAX		300	/* seconds a token may live, at most */
#define TTL_DEFAULT	120
#define EXPIRE_DEFAULT	600	/* seconds a request waits for a person */
#define EXPIRE_MAX	86400
#define SKEW_DEFAULT	60	/* seconds between ts and the clock */
#define SKEW_MAX	3600
#define RETAIN_S	(7 * 86400)	/* decided requests kept this long */
#define OPERATORS_MAX	32	/* uids on the admin socket */
#define RULES_MAX	256	/* rules in the rules file */
#define RULES_FILE_MAX	(256 * 1024)	/* bytes of the rules file */
#define RULE_NAME_MAX	64	/* characters of a rule's name */
#define RULE_RATE_MAX	100000	/* grants a rule may make per hour */
#define RULE_ARGV_MAX	64	/* items in a rule's argv prefix */
#define RECOVER_SCAN_MAX (128L * 1024 * 1024)	/* log tail read at start */
#define LOG_ROTATE_KB	(64 * 1024)	/* the log rotates once it holds this
				   many KiB (-R; 0: only on SIGUSR1) */
#define LOG_ROTATE_KB_MAX (1024 * 1024)
#define HELD_MAX	1024	/* changes of state kept, while the log has
				   stopped, to be recorded once it is back */

#define EXIT_DENIED	1	/* the authority refused, or said no */
#define EXIT_ERR	2	/* usage, or a system error */

/* rules.c: the auto-grant rules file. */
struct rule {
	char	 name[RULE_NAME_MAX + 1];
	char	 agent[AUDIT_KID_MAX + 1];
	char	*pod;		/* a glob: * and ? */
	char	 op[32];
	char	**argv;		/* prefix, NULL-terminated; or NULL */
	size_t	 argc;
	struct policy_glob glob;	/* for the file operations */
	int	 has_glob;
	int	 per_hour;
	int	 ttl;		/* seconds; 0: the configured lifetime */
	/* grants in the last hour: a ring of their times */
	int64_t	*times;
	int	 ntimes, head;
};

struct rules {
	size_t	 n;
	struct rule *v;
};

int	 rules_load(struct rules *, const char *, struct audit_err *);
int	 rules_read(const char *, char **, size_t *, struct audit_err *);
int	 rules_from(struct rules *, const char *, const char *, size_t,
	    struct audit_err *);
void	 rules_carry(struct rules *, const struct rules *);
int	 rules_parse(struct rules *, const char *, size_t, struct audit_err *);
void	 rules_free(struct rules *);
const struct rule *rules_find(const struct rules *, const char *,
	    const char *, const char *, const json_t *);
struct rule *rules_match(struct rules *, const char *, const char *,
	    const char *, const json_t *, int64_t, int *);
void	 rule_count(struct rule *, int64_t);
int	 rules_op_known(const char *);
int	 rules_pod_match(const char *, const char *);

/* store.c: what survives a restart, in LMDB. */
struct store;

int	 store_open(struct store **, const char *, struct audit_err *);
void	 store_close(struct store *);
int	 store_sync(struct store *, struct audit_err *);
MDB_env	*store_env(struct store *);
int	 store_begin(struct store *, MDB_txn **, int, struct audit_err *);
int	 store_commit(struct store *, MDB_txn *, struct audit_err *);
int	 store_nonce_put(struct store *, MDB_txn *, const char *,
	    const uint8_t[AUDIT_NONCE_LEN], int64_t, struct audit_err *);
int	 store_nonce_prune(struct store *, int64_t);
int	 store_next_id(struct store *, MDB_txn *, uint64_t *,
	    struct audit_err *);
int	 store_put(struct store *, MDB_txn *, uint64_t, const json_t *,
	    struct audit_err *);
int	 store_get(struct store *, MDB_txn *, uint64_t, json_t **);
typedef int (*store_each_fn)(void *, uint64_t, json_t *);
int	 store_each(struct store *, MDB_txn *, store_each_fn, void *);
int	 store_del(struct store *, MDB_txn *, uint64_t);

/* The two sockets, as listeners of one line server (lines.h). */
#define LISTEN_AGENT	0
#define LISTEN_ADMIN	1
#define FLAG_WATCHING	0x1	/* an admin's watch: lines_conn flags */

/* A piece of work that waits for durability before its answers go. */
struct job {
	struct job *next;
	uint64_t id;		/* the request; 0 for none */
	json_t	*events[2];	/* audit records, in order */
	int	 nev;
	struct lines_conn *conn;	/* who asked; held */
	json_t	*answer;	/* to conn once durable */
	struct audit_buf answer_text;	/* or this line, made already */
	json_t	*notify;	/* a decision, to every waiter of id */
	int	 audit_error;
	uint64_t log_gen;	/* the log's taking up it was submitted to */
	int	 logged;	/* the request's logged count after this */
	json_t	*watch;		/* a request to show to admins watching */
	json_t	*wait_echo;	/* conn then waits for id's decision */
};

/* The daemon's state (main.c has the one there is, A). */
struct authority {
	struct ev_loop *loop;
	struct audit_seckey *key;
	struct audit_keyring agents;
	struct audit_log *log;
	struct store *store;
	struct rules rules;
	struct reader reader;	/* reads the keyring and rules on SIGHUP */
	const char *keyring_path, *rules_path;
	uid_t	 operators[OPERATORS_MAX];
	int	 noperators;
	int	 ttl, expire, skew;
	int	 via_node;	/* -N: agents' requests only as a node
				   attests them */
	int	 agent_pending;	/* pending requests one agent may have */
	int	 stopped;	/* the audit log failed: requests are answered
				   unavailable, it is taken up each second */
	int64_t	 stopped_at;
	char	 stopped_why[256];
	uint64_t unrecorded;	/* records not made since */
	uint64_t log_gen;	/* times the log was taken up again */
	struct job *held[HELD_MAX];	/* their records to make once it is */
	int	 nheld;
	int	 rotate_kb;	/* -R */
	struct audit_log_files log_files;	/* the rotation's: the reader's */
	int	 landlock;	/* the kernel's Landlock ABI (0: none) */
	/* work waiting for the LMDB sync, then for its records */
	struct job *batch_head, *batch_tail;
	struct doneq done;	/* jobs whose last record completed */
	ev_prepare flush;
	ev_timer tick;
	struct events events;	/* the operator's lines on stderr */
	struct rwin refusals;	/* refusals recorded per peer uid */
	struct lines lines;	/* both sockets */
	/* pending requests and when they expire */
	struct pend {
		uint64_t id;
		int64_t	 expires;
		char	 agent[AUDIT_KID_MAX + 1];
	} pend[PENDING_MAX];
	int	 npend;
	int64_t	 last_prune;
};

extern struct authority *A;

/* agent.c: the request socket. */
struct areq {
	json_t	*obj;
	struct envelope env;	/* its envelope (envelope.c) */
	const char *type;	/* "approval-request" or "approval-status" */
	json_t	*echo;		/* the nonce, echoed as the answer's id */
	char	 kid[AUDIT_KID_MAX + 1];
	char	 role[AUDIT_ROLE_MAX + 1];	/* its signer's, once verified */
	char	 digest[AUDIT_HEX_LEN + 1];	/* of a request's args */
	uint64_t id;		/* the request a status query names */
	const char *kind;	/* why it is refused: an error kind */
	const char *why;	/* and a message */
	char	 whybuf[256];	/* for a message made for this request */
	int	 verified;	/* its signature verified */
	char	 node[AUDIT_KID_MAX + 1];	/* the node that attested it,
						   or "" */
};

int	 agent_parse(struct areq *, const char *, size_t);
int	 agent_authenticate(struct areq *, const struct audit_keyring *, int,
	    int64_t);
int	 agent_role(struct areq *);
int	 agent_body(struct areq *);
void	 areq_free(struct areq *);
void	 agent_line(struct lines_conn *, const char *, size_t);
void	 agent_overlong(struct lines_conn *, size_t, const uint8_t *);
void	 agent_refusals_record(void *, json_t *);
int	 agent_refusal_counted(struct lines_conn *, const json_t *,
	    const char *, const char *);
json_t	*agent_answer(const json_t *, uint64_t, const json_t *);
json_t	*authority_error(const json_t *, const char *, const char *);

/* admin.c: the admin socket. */
int	 admin_accept(struct lines_conn *);
int	 admin_is_operator(uid_t);
void	 admin_line(struct lines_conn *, const char *, size_t);
void	 admin_overlong(struct lines_conn *, size_t, const uint8_t *);
void	 admin_broadcast(const json_t *);

/* recover.c: at start, what a stop left out. */
int	 recover_log(const char *, struct audit_err *);

/* job.c: a change's records, then its answers, once durable. */
void	 job_queue(struct job *);
void	 job_flush(struct ev_loop *, ev_prepare *, int);
void	 job_drain(struct ev_loop *, ev_async *, int);
void	 job_free(struct job *);
void	 job_log_retry(void);

/* What a request is answered while the log or the state cannot be
 * written (unavailable). */
#define LOG_STOPPED	"the authority cannot record the request: its audit " \
	"log has stopped; it is tried again each second"
#define STATE_STOPPED	"the authority's state cannot be written now; it " \
	"is tried again at the next request"

struct job *job_new(struct lines_conn *, uint64_t);
int	 job_event(struct job *, json_t *);
void	 waiter_add(uint64_t, struct lines_conn *, const json_t *);
void	 waiters_drop(struct lines_conn *);

/* decide.c: what a decision makes: the token, the records, the summary. */
json_t	*mint_token(const json_t *, uint64_t, int64_t, int,
	    const struct audit_seckey *, struct audit_err *);
json_t	*decision_event(const char *, const json_t *, uint64_t);
json_t	*request_summary(uint64_t, const json_t *);

/* pending.c: the requests waiting for a person, and their expiry. */
void	 pending_tick(struct ev_loop *, ev_timer *, int);
void	 pending_add(uint64_t, int64_t, const char *);
void	 pending_del(uint64_t);
int	 pending_of(const char *, uint64_t *, int);

/* cli.c: the operator's and the agent's commands. */
int	 cmd_keygen(int, char **);
int	 cmd_admin(const char *, int, char **);
int	 cmd_ask(int, char **);
int	 cmd_status(int, char **);

/* options.c: the command line. */
struct serve_opts {
	const char *dir, *keyfile, *keyring, *rulesfile, *reqsock, *adminsock;
	const char *logpath, *statepath;
	gid_t	 gid;		/* of the sockets; -1: the daemon's */
	int	 check_only;	/* -n: check the configuration, exit */
};

extern const char authority_usage_text[];
void	 authority_usage(void) __attribute__((noreturn));
void	 serve_options(struct authority *, struct serve_opts *, int, char **);

/* serve.c: serve's steps, each named in main.c. */
void	 serve_load(struct authority *, const struct serve_opts *);
void	 serve_check(const struct authority *, const struct serve_opts *);
int	 serve_open(struct authority *, const struct serve_opts *,
	    struct audit_err *);
void	 serve_watch(struct authority *);
int	 serve_listen(struct authority *, const struct serve_opts *,
	    struct audit_err *);
int	 serve_record_start(struct authority *, struct audit_err *);
void	 serve_stop(struct authority *);

#endif /* NUCLEUS_AUTHORITY_H */
