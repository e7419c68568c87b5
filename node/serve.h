/*
 * nucleus-node serve: the daemon's own structures (serve.c, request.c,
 * record.c, pods.c);
 * its socket is a line server of libdaemon (lines.h); copy.c keeps each
 * pod's host-side audit copy.
 */
#ifndef NUCLEUS_NODE_SERVE_H
#define NUCLEUS_NODE_SERVE_H

#include <pthread.h>

#include <ev.h>

#include "doneq.h"
#include "events.h"
#include "lines.h"
#include "rwin.h"
#include "node.h"

#define NODE_CONNS_MAX	64	/* clients at once, of any uid */
#define NODE_CONNS_RESERVE 16	/* more, for root and the node's uid only */
#define NODE_CONNS_PER_UID 32	/* of NODE_CONNS_MAX, one agent uid's: one
				   local user cannot take every slot */
#define NODE_INFLIGHT_MAX 64	/* requests of one client in flight */
#define NODE_OUTBUF_MAX	(64 * 1024 * 1024)	/* unsent bytes, per client */
#define NODE_OUTBUF_TOTAL (64 * 1024 * 1024)	/* unsent bytes, all clients:
				   past it, those holding some are not read */
#define NODE_OUTBUF_SHED (256 * 1024 * 1024)	/* past it, those holding
				   the most are closed */
#define NODE_IDLE_S	60	/* seconds a quiet client stays (-i) */
#define NODE_LINE_S	30	/* seconds a request line may take (-s) */
#define NODE_CONN_S_MAX	3600	/* -i and -s at most */
#define NODE_PODS_MAX	64	/* pods at once */
#define NODE_APPROVALS_MAX 64	/* approval requests waiting on the
				   authority at once (approve.c) */
#define NODE_APPROVALS_AGENT_MAX 16	/* of them, one agent's: one agent
				   cannot take every place */
#define NODE_APPROVAL_LINE_MAX (64 * 1024)	/* bytes in an answer line
				   from the authority */
#define NODE_FWD_DEADLINE 60	/* seconds a pod has to answer by default
				   (-D, 1 to NODE_FWD_DEADLINE_MAX), past any
				   command timeout it was asked for */
#define NODE_FWD_DEADLINE_MAX 3600
#define NODE_STATE_MAP	(1024UL * 1024 * 1024)	/* bytes of state.mdb at
				   most: nonces within the skew, tokens
				   until their exp, the pods */
#define NODE_LOG_ROTATE_KB (64 * 1024)	/* the node's log rotates once it
				   holds this many KiB (-R; 0: only on
				   SIGUSR1) */
#define NODE_LOG_ROTATE_KB_MAX (1024 * 1024)
#define NODE_PRUNE_TICKS 60	/* seen nonces and spent tokens are pruned
				   once a minute */
#define POD_OUTBUF_MAX	(16 * 1024 * 1024)	/* bytes of requests waiting for
				   a pod that does not read them */
#define POD_HOLD_MAX	4	/* marks of a pod's requests waiting for
				   the state's sync: past it, one waits for
				   a later sync with the last */
#define POD_LINE_MAX	(80 * 1024 * 1024)	/* bytes of one answer */
#define POD_STRAY_RECORD_S 60	/* seconds between records of a pod's
				   answers for requests never sent */
#define NODE_DISK_RESERVE_MIB 64	/* MiB the filesystem of the pods'
				   copies keeps free for the node's own
				   log and state: no copy is appended
				   into it; */
#define NODE_DISK_RESERVE_PART 16	/* or a sixteenth of the filesystem,
				   if that is less */
#define NODE_POD_IN_TOTAL 256	/* MiB of unfinished pod lines the node
				   holds, all pods together (-M); past it
				   the pod holding most is stopped */
#define NODE_POD_IN_MIN	1	/* -M at least, at most */
#define NODE_POD_IN_MAX	65536
#define POD_RELEASE_MS	50	/* the loop waits this long for a pod's
				   cgroup to empty; then the tick retries */

/*
 * What ties an answer to its record (answer.c): the request as the node
 * forwarded it, the pod's records of it as they came before the answer,
 * and the record the answer names.
 */
#define BIND_OP_MAX	32	/* bytes of an op the proxy records (its own) */
#define BIND_KIND_MAX	32	/* bytes of an error kind */
#define BIND_STATUS_MAX	16	/* bytes of an outcome's status */

enum bind_event { BIND_NONE, BIND_DECISION, BIND_OUTCOME, BIND_OTHER };

struct fwd_bind {
	char	 op[BIND_OP_MAX];	/* "" when it does not fit */
	char	 args_digest[AUDIT_HEX_LEN + 1];
	char	 line_hash[AUDIT_HEX_LEN + 1];	/* of the line forwarded */
	size_t	 line_bytes;
	/* the pod's records of its id, before its answer */
	int	 decisions;	/* decision records */
	int	 allowed;	/* the decision said allow */
	const char *wrong;	/* a decision not on this request, or NULL */
	int64_t	 last_seq;	/* the last record's seq, or -1 */
	char	 last_hash[AUDIT_HEX_LEN + 1];
	enum bind_event last_event;
	int	 last_refused;	/* it says deny or approval_required */
	char	 last_decision[BIND_STATUS_MAX + 8];	/* "" when none */
	char	 last_status[BIND_STATUS_MAX];	/* "" when none */
	char	 last_kind[BIND_KIND_MAX];	/* "" when none */
	/* the record the answer names */
	int	 audited;
	int64_t	 seq;
	char	 hash[AUDIT_HEX_LEN + 1];
	int	 ok;
	char	 kind[BIND_KIND_MAX];	/* an error answer's */
};

/* A request forwarded to a pod, until its answer comes back. */
struct fwd {
	struct fwd *next;
	uint64_t seq;		/* the id the pod sees: "n<seq>" */
	json_t	*id;		/* the client's */
	struct lines_conn *conn;	/* held */
	ev_tstamp deadline;
	json_t	*answer;	/* come back; relayed once the copy syncs */
	struct audit_buf raw;	/* or the answer as a line, its id the
				   client's */
	uint64_t need;		/* the pod's lines sent before it */
	struct fwd_bind bind;	/* and the record it names */
	/* The node's own word (chan_ask), no client's: its answer, a
	   result or an error's kind and why, goes to done, at once. */
	void	(*done)(void *, const json_t *, const char *, const char *);
	void	*arg;
};

/* A pod's host-side audit copy (copy.c). */
struct copy {
	int	 fd;
	char	 path[LOCAL_PATH_MAX + AUDIT_LOGID_MAX + 8];
	struct audit_chain chain;	/* what it holds, verified */
	int	 dirty;		/* appended, not yet durable */
	int	 failed;	/* a line did not verify, or did not go */
	uint64_t syncs;
	uint64_t synced;	/* lines durable */
	int64_t	 synced_seq;	/* the last durable record's seq, or -1 */
};

int	 copy_open(struct copy *, const char *, const char *,
	    const struct audit_keyring *, struct audit_err *);
int	 copy_reopen(struct copy *, const char *, const char *,
	    const struct audit_keyring *, struct audit_err *);
int	 copy_line(struct copy *, const char *, size_t, const char *,
	    const uint8_t[AUDIT_PK_LEN], struct audit_err *);
int	 copy_sync(struct copy *, struct audit_err *);
void	 copy_close(struct copy *);

/* The copier (copyq.c): copies kept off the loop. */
#define COPY_BACKLOG_MAX 4096	/* a pod's lines not yet durable before the
				   node stops reading that pod */
#define COPY_ACK_RECORDS 16	/* records newly durable in a pod's copy
				   before the node tells the pod so */

struct copyw {
	struct copy c;		/* the copier's */
	char	 log[AUDIT_LOGID_MAX + 1];
	uint8_t	 pk[AUDIT_PK_LEN];
	int	 touched;	/* the copier's, in one batch */
	char	 cwhy[256];	/* the copier's: why its copy failed */
	struct copyw *next_touched;
	/* under the queue's mutex */
	int	 refs;
	uint64_t queued;	/* lines handed over */
	uint64_t durable;	/* lines durable */
	int64_t	 durable_seq;	/* the last durable record's seq, or -1 */
	int	 failed;
	char	 why[256];
};

struct copyw_state {
	uint64_t queued, durable;
	int64_t	 durable_seq;
	int	 failed;
	char	 why[256];
};

int	 copyq_start(struct ev_loop *, ev_async *, struct audit_err *);
void	 copyq_stop(void);
struct copyw *copyw_open(const char *, const char *,
	    const uint8_t[AUDIT_PK_LEN], const struct audit_keyring *,
	    struct audit_err *);
struct copyw *copyw_reopen(const char *, const char *,
	    const uint8_t[AUDIT_PK_LEN], const struct audit_keyring *,
	    struct audit_err *);
int	 copyw_line(struct copyw *, const char *, size_t);
void	 copyw_state(struct copyw *, struct copyw_state *);
void	 copyw_wait(struct copyw *);
void	 copyw_release(struct copyw *);

/* A pod's host copy within its quota (quota.c). */
struct quota {
	int	 set;		/* filled from the spec at its first line */
	uint64_t bytes;		/* taken into the copy, newlines counted */
	uint64_t max;		/* audit.copy_mib */
	size_t	 record_max;	/* audit.record_kib */
	double	 rate;		/* audit.rate_kib, in bytes a second */
	double	 tokens;	/* bytes it may send now: at most
				   rate * POD_RATE_WINDOW_S */
	ev_tstamp at;		/* when tokens was counted */
};

struct pod {
	struct pod *next;
	struct podspec spec;
	json_t	*spec_obj;	/* as it was given */
	struct local_pod lp;
	ev_io	 rio, wio, exit_io;
	char	*in;		/* an answer being read */
	size_t	 inlen, incap;
	uint64_t stray;		/* answers for requests never sent, */
	ev_tstamp stray_at;	/* not yet recorded; the last record */
	struct audit_buf out;	/* requests not yet written */
	size_t	 outoff;
	struct fwd *fwds;
	struct fwd *relay_head, *relay_tail;	/* answered, to relay */
	struct copyw *cw;	/* its host copy, kept by the copier */
	struct quota quota;
	char	 copy_path[LOCAL_PATH_MAX + AUDIT_LOGID_MAX + 8];
	uint64_t lost_records;	/* a lost pod's: how many its copy holds */
	int	 copy_failed;
	int	 copy_paused;	/* not read: its copy is behind */
	char	 log_stopped[256];	/* its proxy said its log stopped:
					   why; or "" */
	int64_t	 acked;		/* the copy's seq the pod was told of */
	uint64_t next_seq;
	int	 running;
	int	 lost;		/* found at start, no longer running */
	unsigned long long pid_start;	/* its init's, in clock ticks */
	int	 timed_out;	/* stopped for its timeout_s */
	int	 exit_code;
	int64_t	 started;
	int64_t	 not_after;	/* its policy's window ends (podspec.c) */
	/* a VM booting: connected to, then its hello awaited */
	int	 starting;
	struct lines_conn *creator;	/* held: answered once it is up */
	json_t	*creator_id;
	char	 creator_kid[AUDIT_KID_MAX + 1];
	ev_timer start_timer;
	ev_tstamp start_deadline;
	char	 hello[HELLO_MAX];
	size_t	 hellolen;
	int	 hello_fd;	/* Firecracker: the hello's connection, held
				   while the pod runs, plus one; 0: none */
	int	 wfd;		/* its /work held open, plus one; 0: none
				   (podwork.c) */
	int	 end_export;	/* a VM's: work.export under way, the stop
				   after it (podwork.c) */
	int	 work_ended;	/* pod.work_export recorded */
	int	 vmx_busy;	/* a VM's: its proxy packs for the node */
	struct vmx *vmx_wait;	/* exports waiting their turn (its proxy
				   holds one archive at a time) */
	/* out's bytes from hold[0].at on wait for the state's sync of
	   hold[i].gen: requests forwarded from seq on (channel.c) */
	struct {
		size_t	 at;
		uint64_t gen, seq;
	}	 hold[POD_HOLD_MAX];
	int	 nhold;
};

struct vmx;

/* A record to make durable, then an answer to send. */
struct njob {
	struct njob *next;
	json_t	*event;
	struct lines_conn *conn;	/* held */
	json_t	*answer;
	int	 audit_error;
	unsigned log_gen;	/* the opening of the log it went to */
	uint64_t state_gen;	/* the state's sync it waits for */
	void	(*then)(void *, int);	/* node_record_then's */
	void	*then_arg;
};

#define NODE_HELD_MAX	1024	/* the node's own events kept while its log
				   cannot be written (a pod's end, say) */

struct node {
	struct ev_loop *loop;
	struct audit_seckey *key;
	struct audit_keyring keys;
	struct audit_keyring trust;	/* -T, parsed: tokens' signers */
	char	 keyring_path[LOCAL_PATH_MAX];	/* -K, read again on SIGHUP */
	char	 trust_path[LOCAL_PATH_MAX];	/* -T, the same */
	struct audit_keyring self;	/* the node's own key: pods' copies */
	struct audit_log *log;		/* NULL while it cannot be reopened */
	char	 log_path[LOCAL_PATH_MAX];
	char	 log_id[AUDIT_LOGID_MAX + 1];
	int	 log_rotate_kb;	/* -R: rotated past it; 0 only on SIGUSR1 */
	MDB_env	*env;		/* NULL while it cannot be opened again */
	char	 state_path[LOCAL_PATH_MAX];
	MDB_dbi	 pods_dbi;	/* the pods it runs (podstate.c) */
	int	 state_dirty;	/* a change not yet synced */
	uint64_t state_asked;	/* the last sync asked of nsync.c */
	uint64_t state_durable;	/* the last one it made durable */
	ev_async synced_async;	/* the syncer made the state durable */
	ev_async checked_async;	/* the verifier checked a line */
	struct gate gate;
	struct local_env lenv;
	char	 pods_dir[LOCAL_PATH_MAX];
	struct pod *pods;
	int	 npods;
	struct lines lines;	/* the node's socket */
	int	 stopped;		/* the log failed: nothing recorded */
	int64_t	 stopped_at;
	char	 stopped_why[256];
	uint64_t unrecorded;		/* records not made since */
	unsigned log_gen;		/* each opening of the log */
	json_t	*held[NODE_HELD_MAX];	/* the node's own events among them,
					   made once the log is back */
	int	 nheld;
	int	 fwd_deadline;	/* -D */
	uint64_t copy_mib;	/* -C: a pod's audit.copy_mib by default */
	size_t	 in_total;	/* -M: bytes of unfinished pod lines */
	size_t	 in_held;	/* those held now: each pod's incap */
	uint64_t ticks;		/* of the one-second timer */
	uint64_t turned_away;	/* connections past the limit, not yet
				   recorded (one record a second at most) */
	uid_t	 turned_away_uid;	/* the last one's peer */
	/* cgroups whose last processes had not left when their pod ended */
	struct cgroup leftovers[NODE_PODS_MAX];
	int	 nleftovers;
	struct njob *batch_head, *batch_tail;
	struct doneq done;	/* jobs whose record completed */
	ev_async copied_async;	/* the copier made copies durable */
	ev_prepare flush;
	ev_timer tick;
	struct events events;	/* the operator's lines on stderr */
	struct rwin refusals;	/* refusals recorded per peer uid */
	int	 leave_pods;	/* SIGUSR2: stop, leaving the pods running */
	const char *authority_sock;	/* -A: approval requests go there */
};

extern struct node *N;

/* nsync.c: the state's group commit, off the loop */
int	 nsync_start(ev_async *, struct audit_err *);
void	 nsync_stop(void);
int	 nsync_env(MDB_env *, struct audit_err *);
uint64_t nsync_ask(void);
uint64_t nsync_now(void);
uint64_t nsync_durable(int *);
void	 nsync_wait(void);

/* record.c: each answer after its record; request.c: each line */
void	 node_record_then(json_t *, void (*)(void *, int), void *);
json_t	*node_error(const json_t *, const char *, const char *);
json_t	*node_ok(const json_t *, json_t *);
void	 node_record(struct lines_conn *, json_t *, json_t *);
struct njob *node_record_job(json_t *, json_t **, struct audit_err *);
void	 node_flush(struct ev_loop *, ev_prepare *, int);
void	 node_drain(struct ev_loop *, ev_async *, int);
void	 node_log_retry(void);
int	 node_state_open(struct audit_err *);
void	 node_state_retry(void);
uint64_t node_state_gen(void);
void	 node_synced(struct ev_loop *, ev_async *, int);
void	 node_synced_run(void);
void	 node_line(struct lines_conn *, const char *, size_t);
void	 node_line_checked(struct lines_conn *, struct gate_req *, int,
	    int64_t, const char *, size_t);

/* gateq.c: request lines checked off the loop's turn */
int	 gateq_start(ev_async *, struct audit_err *);
void	 gateq_stop(void);
int	 gateq_run(void);
void	 gateq_checked(struct ev_loop *, ev_async *, int);
void	 node_overlong(struct lines_conn *, size_t, const uint8_t *);
void	 node_refusals_record(void *, json_t *);
int	 node_refusal_counted(struct lines_conn *, const json_t *,
	    const char *, const char *);
void	 node_turned_away(struct lines *, uid_t);
void	 node_turned_away_record(void);
int	 node_privileged(const struct lines *, int, uid_t);

/* podstate.c */
int	 podstate_save(const struct pod *);
void	 podstate_forget(const char *);
void	 podstate_recover(void);
unsigned long long podstate_start_time(pid_t);

/* pods.c: the table of pods, their operations, the tick, the reaper */
struct pod *pods_find(const char *);
void	 pods_link(struct pod *);
void	 pods_unlink(struct pod *);
void	 pods_free(struct pod *, int);
void	 pods_up(struct pod *, struct lines_conn *, const char *,
	    const json_t *, int);
void	 pods_refuse(struct lines_conn *, const char *, const json_t *,
	    const char *, const char *, const char *);
void	 pods_exit(struct ev_loop *, ev_io *, int);
void	 pods_create(struct lines_conn *, struct gate_req *);
void	 pods_list(struct lines_conn *, struct gate_req *);
void	 pods_status(struct lines_conn *, struct gate_req *);
void	 pods_stop(struct lines_conn *, struct gate_req *);
void	 pods_tick(struct ev_loop *, ev_timer *, int);
void	 pods_stop_all(void);
int	 pods_leave_all(void);

/* podwork.c: a pod's work, out: pod.export, pod.diff, work.export */
/*
 * pod.export and pod.diff, made on a worker (exportq.c): what a job
 * reads is its own, what it made goes to done on the loop.
 */
struct exportq_job {
	struct exportq_job *next;
	void	(*done)(struct exportq_job *);	/* on the loop, once made */
	int	 fd;			/* the pod's /work; -1: cpio */
	struct audit_buf cpio;		/* what a VM's proxy packed */
	size_t	 left_out, skipped;	/* as it says */
	json_t	*policy;		/* a copy of the pod's */
	char	*path;			/* beneath /work */
	struct export_req req;		/* its bounds */
	char	 snap[LOCAL_PATH_MAX + 32];	/* a diff's snapshot, or "" */
	int	 rc;			/* made: 0, or kind and e say why */
	struct export_out out;		/* the archive (an export's) */
	json_t	*diff;			/* the diff (a diff's) */
	const char *kind;
	struct audit_err e;
	struct lines_conn *c;		/* held: whom it answers */
	json_t	*id;
	char	 kid[AUDIT_KID_MAX + 1];
	char	 pod[POD_NAME_MAX + 1];
};

struct exportq_job *exportq_new(const json_t *, const char *);
int	 exportq_submit(struct exportq_job *);
void	 exportq_free(struct exportq_job *);
int	 export_snapshot(const char *, struct audit_buf *, struct audit_err *);

void	 podwork_start(struct pod *);
void	 podwork_export(struct lines_conn *, struct gate_req *);
void	 podwork_diff(struct lines_conn *, struct gate_req *);
void	 podwork_end(struct pod *);
void	 podwork_close(struct pod *);
void	 podwork_hold(struct pod *);
int	 podwork_stop(struct pod *);

/* vmstart.c: a VM pod's start, from its VMM's launch to its hello */
void	 vmstart_begin(struct lines_conn *, struct gate_req *, struct pod *,
	    const char *);
void	 vmstart_abort(struct pod *, const char *, const char *);
void	 vmstart_fail(struct pod *, const char *);

/* approve.c: approval.request, checked, then to the authority */
void	 approvals_request(struct lines_conn *, struct gate_req *);
void	 approvals_stop_all(void);

/* channel.c: requests out to a pod, its lines back */
void	 pods_forward(struct lines_conn *, struct gate_req *);
void	 chan_read(struct ev_loop *, ev_io *, int);
void	 chan_write(struct ev_loop *, ev_io *, int);
void	 chan_stopped(struct pod *, const char *);
void	 chan_fail_fwds(struct pod *, const char *, const char *);
void	 chan_fwd_free(struct fwd *);
void	 chan_fwd_error(struct fwd *, const char *, const char *);
int	 chan_ask(struct pod *, json_t *, void (*)(void *, const json_t *,
	    const char *, const char *), void *);
void	 chan_ack_copied(struct pod *);
void	 chan_release(struct pod *, uint64_t);
void	 chan_drop_held(struct pod *, const char *);

/* answer.c: each answer tied to its own record */
int	 answer_forwarded(struct fwd *, const json_t *, const char *, size_t);
void	 answer_record(struct pod *, const char *, size_t);
void	 answer_named(struct fwd *, const json_t *, const json_t *,
	    const json_t *);
int	 answer_backed(const struct fwd *, char *, size_t);

/* relay.c: a pod's host copy, and the answers it holds back */
uint64_t relay_records(const struct pod *);
uint64_t relay_behind(const struct pod *);
void	 relay_answers(struct pod *);
void	 relay_fault(struct pod *, const char *);
void	 relay_stray(struct pod *, ev_tstamp);
void	 pods_flush(void);
void	 pods_copied(struct ev_loop *, ev_async *, int);

/* quota.c: a pod's copy within its quota, its lines within the node's */
int	 quota_line(struct pod *, size_t);
int	 quota_in_grow(struct pod *, size_t);
void	 quota_in_held(struct pod *, size_t);

/* serve.c */
/* serve; notify tells the service manager a state ("READY=1"). */
int	 node_serve(int, char **, void (*)(const char *));

/* client.c: pod, call and approve; main.c: what they share with it */
int	 client_main(const char *, int, char **);
const char *node_dir_default(void);
char	*node_path(const char *, const char *);
const char *node_socket_default(void);
void	 node_usage(void) __attribute__((noreturn));

#endif /* NUCLEUS_NODE_SERVE_H */
