/*
 * nucleus-mcp: an MCP server (JSON-RPC 2.0 over stdio) for one pod.
 * rpc.c reads the client's messages and answers what needs no pod
 * (lifecycle, ping, tools/list, bad input); tools.c holds the tools, their
 * schemas and the check of a call's arguments; link.c makes a call one
 * signed request to the node, and asks the authority when an approval is
 * needed; pass.c passes a node's ok answer in canonical form on as its
 * bytes; main.c reads stdin, writes stdout, and runs the calls in order,
 * reading on while a call waits, so that a cancellation is heard.
 */
#ifndef NUCLEUS_MCP_H
#define NUCLEUS_MCP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "audit.h"

#define MCP_LINE_MAX	(2 * 1024 * 1024)	/* bytes of one message in */
#define MCP_ANSWER_MAX	(80 * 1024 * 1024)	/* bytes of a node's answer */
#define MCP_QUEUE_MAX	64	/* tool calls waiting for the one running */
#define MCP_BATCH_MAX	64	/* messages in one batch (2025-03-26) */
#define MCP_INFLIGHT_MAX 8	/* tool calls in flight on the node's connection */
#define MCP_WAIT_DEFAULT 300	/* -w: seconds an approval is waited for */
#define MCP_WAIT_MAX	86400	/* -w at most */
#define MCP_PROGRESS_S	5	/* seconds between progress notifications */

/* JSON-RPC 2.0's error codes. */
#define RPC_PARSE_ERROR		-32700
#define RPC_INVALID_REQUEST	-32600
#define RPC_METHOD_NOT_FOUND	-32601
#define RPC_INVALID_PARAMS	-32602
#define RPC_INTERNAL_ERROR	-32603

/* The revisions of the specification served, the newest first. */
#define MCP_VERSION_LATEST	"2025-06-18"
#define MCP_VERSION_PREVIOUS	"2025-03-26"

struct mcp_tool;

/* The protocol's state: what the client and the server agreed. */
struct mcp_server {
	const char *pod;
	int	 initialized;	/* initialize answered */
	int	 ready;		/* notifications/initialized heard */
	int	 structured;	/* the revision has output schemas */
	int	 batches;	/* the revision has JSON-RPC batches */
	const char *version;	/* the revision agreed */
};

/*
 * A batch (2025-03-26) whose tool calls are not all done: its answer, an
 * array, is sent when the last one is.
 */
struct mcp_batch {
	json_t	*answers;	/* the answers so far */
	size_t	 waiting;	/* its calls not yet done */
};

/* A tool call to perform: its request's id, and the node's op and args. */
struct mcp_call {
	json_t	*id;
	const struct mcp_tool *tool;
	json_t	*args;		/* the node operation's arguments */
	char	*reason;	/* run_command's, for an approval; or NULL */
	json_t	*progress;	/* _meta.progressToken, or NULL */
	int	 cancelled;
	char	 rid[32];	/* its request's id at the node */
	json_t	*resp;		/* the node's answer to it, once come */
	char	*raw;		/* or, an ok answer in canonical form, its
				   result's bytes (resp: its id and ok) */
	size_t	 rawlen;
	struct mcp_batch *batch; /* the batch it came in, or NULL */
	struct mcp_call *next;
};

/* What one line asks of main.c, besides the answer. */
struct mcp_step {
	struct mcp_call *calls;	/* tool calls to queue, in order (->next) */
	json_t	*cancel;	/* ids of requests to cancel: an array, or NULL */
};

/* rpc.c */
json_t	*mcp_line(struct mcp_server *, const char *, size_t,
	    struct mcp_step *);
json_t	*mcp_error(const json_t *, int, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
json_t	*mcp_result(const json_t *, json_t *);
json_t	*mcp_notification(const char *, json_t *);
int	 mcp_encode(const json_t *, struct audit_buf *);
void	 mcp_call_free(struct mcp_call *);
json_t	*mcp_call_end(struct mcp_call *, json_t *);

/* pass.c: a node's ok answer in canonical form, as spans of its line. */
struct mcp_ok {
	const char *id;		/* the id's text, without quotes */
	size_t	 idlen;
	const char *result;	/* the result's canonical text */
	size_t	 resultlen;
};

int	 mcp_answer_scan(const char *, size_t, struct mcp_ok *);
int	 mcp_encode_ok(const json_t *, const char *, size_t, int,
	    struct audit_buf *);
json_t	*mcp_ok_result(const char *, size_t);

/* tools.c */
const struct mcp_tool *mcp_tool_find(const char *);
const char *mcp_tool_op(const struct mcp_tool *);
json_t	*mcp_tools_list(int);
int	 mcp_tool_args(const struct mcp_tool *, const json_t *, json_t **,
	    char **, char *, size_t);
json_t	*mcp_tool_ok(const json_t *, int);
json_t	*mcp_tool_error(const char *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/* link.c: the node, and the authority, for one pod. */
struct mcp_link;
struct mcp_link *mcp_link_new(const char *, const char *, const char *,
	    struct audit_seckey *, int);
void	 mcp_link_via_node(struct mcp_link *);
void	 mcp_link_free(struct mcp_link *);
typedef void (*mcp_progress_fn)(void *, int64_t, int64_t, const char *);

/*
 * While a call waits, the client's input: when fd is readable, fn reads
 * it and says 1 (the call is cancelled), 0 (wait on) or -1 (the input
 * ended: wait on without it).  The node's answers to other calls in
 * flight, read meanwhile, go to answer (parsed whole: no raw bytes);
 * while an operator is waited for, node_fn reads them when node_fd (-1:
 * none) is readable.
 */
struct mcp_wake {
	int	 fd;
	int	(*fn)(void *);
	void	*arg;
	void	(*answer)(json_t *, char *, size_t);
	int	 node_fd;
	void	(*node_fn)(void);
};

int	 mcp_link_send(struct mcp_link *, struct mcp_call *, int,
	    struct audit_err *);
int	 mcp_link_fd(const struct mcp_link *);
int	 mcp_link_buffered(const struct mcp_link *);
int	 mcp_link_read(struct mcp_link *, json_t **, char **, size_t *,
	    struct audit_err *);
int	 mcp_link_asks(const struct mcp_link *, const json_t *);
json_t	*mcp_link_finish(struct mcp_link *, struct mcp_call *, json_t *, int,
	    struct mcp_wake *, mcp_progress_fn, void *, int);

#endif /* NUCLEUS_MCP_H */
