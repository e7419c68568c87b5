/*
 * -A: the log's space, given back once the node's copy holds it.  The
 * node says on the channel how far its copy of this log is durable
 * ({"log":LOG,"seq":N,"type":"audit.copied","v":1}: every record up to
 * seq N); the proxy then punches a hole over the lines of those records
 * in its own file (FALLOC_FL_PUNCH_HOLE, which a tmpfs honours), so the
 * state tmpfs holds only what the node does not hold yet.  The file keeps
 * its size and its later lines; the log goes on as one chain, and the
 * node's copy is the whole of it.
 *
 * Where each record's line ends is known from what the log tees: a
 * ledger of (records so far, bytes so far) at the end of each durable
 * batch.  In a log each line is one record and the first is seq 0, so the
 * record of seq N ends line N + 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proxy.h"

struct mark {
	uint64_t lines;		/* records in the file up to here */
	off_t	 end;		/* bytes of the file up to here */
};

static struct {
	pthread_mutex_t mu;
	int	 fd;		/* the log, to punch; -1: no reclaiming */
	struct mark marks[RECLAIM_MARKS];
	size_t	 nmarks;
	struct mark now;	/* the file's end, as teed */
	off_t	 punched;	/* bytes given back, from the start */
	uint64_t punched_lines;	/* the lines they held */
} R = { PTHREAD_MUTEX_INITIALIZER, -1, { { 0, 0 } }, 0, { 0, 0 }, 0, 0 };

static uint64_t
count_lines(const char *p, size_t len)
{
	uint64_t n = 0;

	for (const char *q = p; (q = memchr(q, '\n', len - (size_t)(q - p)))
	    != NULL; q++)
		n++;
	return n;
}

/*
 * The end of a durable batch (or of the file as the tee began).  A full
 * ledger moves its last mark on: what is given back lags a little, never
 * passes what the node holds.
 */
static void
mark_add(void)
{
	if (R.nmarks == RECLAIM_MARKS)
		R.marks[R.nmarks - 1] = R.now;
	else
		R.marks[R.nmarks++] = R.now;
}

/*
 * The file at the tee's start: before bytes, lines of them.  fd is
 * opened for writing (punching) here; without it nothing is given back.
 */
void
reclaim_start(const char *path, off_t before, uint64_t lines)
{
	pthread_mutex_lock(&R.mu);
	R.fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	R.now.lines = lines;
	R.now.end = before;
	mark_add();
	pthread_mutex_unlock(&R.mu);
}

/* On the log's thread: a batch of lines is durable and teed. */
void
reclaim_teed(const char *lines, size_t len)
{
	pthread_mutex_lock(&R.mu);
	R.now.lines += count_lines(lines, len);
	R.now.end += (off_t)len;
	mark_add();
	pthread_mutex_unlock(&R.mu);
}

/* The node's copy holds every record up to seq: give their lines back. */
static void
reclaim_ack(uint64_t seq)
{
	off_t upto = R.punched;
	uint64_t lines = R.punched_lines;
	size_t used = 0;

	pthread_mutex_lock(&R.mu);
	while (used < R.nmarks && R.marks[used].lines <= seq + 1) {
		lines = R.marks[used].lines;
		upto = R.marks[used++].end;
	}
	memmove(R.marks, R.marks + used, (R.nmarks - used) *
	    sizeof(R.marks[0]));
	R.nmarks -= used;
	pthread_mutex_unlock(&R.mu);
	if (R.fd < 0 || upto <= R.punched)
		return;
	if (fallocate(R.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
	    R.punched, upto - R.punched) != 0) {
		/* A file system that cannot: the log is whole, only kept. */
		close(R.fd);
		R.fd = -1;
		return;
	}
	pthread_mutex_lock(&R.mu);
	R.punched = upto;
	R.punched_lines = lines;
	pthread_mutex_unlock(&R.mu);
}

/*
 * A line from the node: 0 when it was its word on the copy (taken, or
 * ignored when it is not for this log), -1 when it is something else.
 * A request's canonical line never begins so.
 */
int
reclaim_line(const char *line, size_t len)
{
	static const char start[] = "{\"log\":";
	const json_t *log, *seq, *type;
	struct audit_err e;
	json_t *o;

	if (len < sizeof(start) - 1 || memcmp(line, start, sizeof(start) -
	    1) != 0 || cjson_parse(line, len, &o, &e) != 0)
		return -1;
	type = json_object_get(o, "type");
	if (!json_is_string(type) || strcmp(json_string_value(type),
	    "audit.copied") != 0) {
		json_decref(o);
		return -1;
	}
	log = json_object_get(o, "log");
	seq = json_object_get(o, "seq");
	if (json_is_string(log) && strcmp(json_string_value(log),
	    P->log_id) == 0 && json_is_integer(seq) &&
	    json_integer_value(seq) >= 0)
		reclaim_ack((uint64_t)json_integer_value(seq));
	json_decref(o);
	return 0;
}

/* Bytes of the log given back so far. */
off_t
reclaim_punched(void)
{
	return R.punched;
}

/*
 * Where the log's lines are still whole: the first byte not given back,
 * and how many lines come before it (a node that comes back holds them).
 */
void
reclaim_base(off_t *off, uint64_t *lines)
{
	pthread_mutex_lock(&R.mu);
	*off = R.punched;
	*lines = R.punched_lines;
	pthread_mutex_unlock(&R.mu);
}
