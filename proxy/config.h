/*
 * The proxy's configuration: its limits, and the pod file (config.c).
 * Kept apart from proxy.h so that the spawner, which has no event loop,
 * needs none of it.
 */
#ifndef NUCLEUS_CONFIG_H
#define NUCLEUS_CONFIG_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "audit.h"
#include "policy.h"

/* Limits; the pod file may lower or raise the ones marked (pod). */
#define REQ_LINE_MAX	(1024 * 1024)	/* bytes in a request line (pod) */
#define READ_MAX	(1024 * 1024)	/* bytes one read returns (pod) */
#define WRITE_MAX	(16 * 1024 * 1024)	/* bytes one write takes (pod) */
#define OUTPUT_MAX	(1024 * 1024)	/* bytes kept per output stream (pod) */
#define STDIN_MAX	(1024 * 1024)	/* bytes of a command's stdin */
#define TIMEOUT_DEFAULT	30	/* seconds a command may run (pod) */
#define TIMEOUT_MAX	600	/* seconds it may ask for (pod) */
#define COMMANDS_MAX	8	/* commands running at once (pod) */
#define LIST_MAX	10000	/* entries one list returns */
#define GLOB_MAX	10000	/* paths one glob returns */
#define GREP_MATCH_MAX	1000	/* matches one grep returns (pod) */
#define GREP_LINE_MAX	4096	/* bytes of a line grep looks at */
#define SEARCH_BYTES_MAX (4 * 1024 * 1024)	/* of paths and text one
						   glob or grep returns */
#define GREP_SECONDS	5	/* seconds one grep may take (pod) */
#define REFUSALS_MAX	60	/* refusals of one agent recorded in full per
				   window (pod; refusals.c) */
#define REFUSAL_SECONDS	60	/* that window (pod) */
/* what a regular expression may take on one line (PCRE2's limits) */
#define GREP_MATCH_LIMIT 1000000	/* backtracking steps */
#define GREP_DEPTH_LIMIT 100000		/* nested backtracking points */
#define GREP_HEAP_KIB	16384		/* KiB of memory */
#define WALK_DEPTH_MAX	64	/* directory levels glob and grep descend */
#define WORKERS		4	/* globs and greps searching at once */
#define AGENT_WORKERS_MAX 2	/* of them, one agent's */
#define SEARCHES_MAX	16	/* globs and greps searching or waiting */
#define AGENT_SEARCHES_MAX 4	/* of them, one agent's */
#define OUTBUF_MAX	(64 * 1024 * 1024)	/* unsent response bytes */
#define CONNS_MAX	64	/* connections at once */
#define REQS_MAX	64	/* requests in flight on one connection */
#define ID_MAX		64	/* characters in a request id */
#define ENV_MAX		64	/* variables a pod file may set */
#define SEARCH_PATH_MAX	16	/* directories on the search path */
#define SUBJECT_MAX	(64 * 1024)	/* bytes of a decision's subject in its
				   record; a longer one is recorded by its
				   size: a record stays far below what the
				   node's copy takes (audit.record_kib) */
/* rlimits of a command; its CPU time is its timeout plus 5 s */
#define CMD_AS_MAX	(4ULL << 30)	/* bytes of address space */
#define CMD_FSIZE_MAX	(4ULL << 30)	/* bytes of a file it writes */
#define CMD_FILES_MAX	1024	/* open files */
#define CMD_PROCS_MAX	256	/* processes of its user, with run_as */

struct limits {
	size_t	 line, read, write, output;
	int	 timeout_default, timeout_max, commands;
	int	 grep_matches, grep_seconds;
	int	 refusals, refusal_seconds;	/* refusals.c */
};

struct costs {
	int64_t	 base;		/* micro-dollars per operation */
	int64_t	 run_second;	/* micro-dollars per second of timeout */
};

struct config {
	const char *podfile;
	char	 pod[AUDIT_LOGID_MAX + 1];
	char	 log[AUDIT_LOGID_MAX + 1];	/* its audit log's id, or "":
						   one made at start */
	struct policy policy;
	char	*root;		/* the work root, absolute */
	char	*state;		/* the state directory */
	char	*trust;		/* keyring of the authority keys */
	char	*search[SEARCH_PATH_MAX + 1];
	char	*env[ENV_MAX + 1];	/* "NAME=value" */
	int	 run_as;	/* run commands as run_uid/run_gid */
	uid_t	 run_uid;
	gid_t	 run_gid;
	int	 egress;	/* commands may open internet sockets */
	struct netspec *net;	/* "network": the allowlist, or NULL */
	char	*search_url;	/* web_search's backend (the node's -S) */
	char	*fetch_ca;	/* more CAs for web_fetch, PEM (-A) */
	int	 gateway_fd;	/* -G: the host's gateway, or -1 */
	int	 egress_port_fd;	/* -E: a VM's egress port, or -1 */
	int	 egress_vsock;	/* -e: the host's egress vsock port, or -1 */
	int	 skew;		/* seconds of clock skew for tokens */
	int	 token_lifetime_max;	/* seconds */
	struct limits lim;
	struct costs cost;
	/* from the command line */
	const char *socket_path;
	int	 listen_fd;	/* -f, or -1 */
	int	 vsock_port;	/* -v, or -1 */
	int	 check_only;	/* -n */
	int	 want_cert;	/* -C */
	int	 copy_audit;	/* -A */
	int	 init;		/* -I: PID 1 of a VM (init.c) */
	int	 channel_persists;	/* the channel outlives its peer */
};

int	 config_load(struct config *, const char *, struct audit_err *);
int	 config_from_json(struct config *, json_t *, struct audit_err *);
void	 config_free(struct config *);
int	 config_check_paths(const struct config *, struct audit_err *);

#endif /* NUCLEUS_CONFIG_H */
