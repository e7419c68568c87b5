/*
 * bench-mcp: what nucleus-mcp adds to a tool call.  In the same run,
 * against the same node and pod (local driver, durable audit):
 *
 *	direct	a signed read of a 4 KiB file on a connection kept open
 *		to the node, one request at a time (libdaemon's
 *		wire_request, as nucleus-node call and nucleus-mcp make it),
 *		its answer read and parsed whole (wire_read, as nucleus-node
 *		call does); the node's answers carry no signature
 *		(nucleus-protocol(7)), so there is none to check on either side
 *	mcp	the same read as an MCP tools/call of read_file, written
 *		to nucleus-mcp's stdin and read back from its stdout:
 *		JSON-RPC, the tool's checks, the signed request, the
 *		node's answer checked (canonical JSON, or parsed), the
 *		result as content and structured content
 *
 * Both at concurrency 1, one of each in turn over ROUNDS rounds, so that
 * drift on a shared machine (and the disk's syncs) hits both; median and
 * p99 latency, requests a second (each kind counted half of the time),
 * and the ratio of the medians.  Both clients are this program, alike
 * lean: each writes its request whole and parses the answer whole with
 * jansson; the MCP answer is twice the size (the result as structured
 * content and again as its text, as the 2025-06-18 revision advises),
 * and what parsing it costs this client is printed apart, so that the
 * adapter's own share can be told from the client's.  Then FLIGHT reads
 * of each kind at once, in turn: reads a second with several in flight
 * (the node's connection and nucleus-mcp's both take them).  Figures, not a
 * test: nothing here fails on speed.  The node and nucleus-mcp are those
 * built beside this program; the node needs root.
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "wire.h"

#include "bench.h"

#define ROUNDS		5	/* figures taken in turns */
#define SECONDS		0.4	/* per figure per round */
#define READS_MAX	1200	/* pairs per round: the node's nonce
				   store is bounded (bench-node.c) */
#define WAIT_MS		10000	/* for a daemon to start or stop */
#define GOAL_ADDED	0.20	/* the adapter adds at most this to the p50 */
#define ANSWER_MAX	(1024 * 1024)
#define PARSES		200	/* parses of an answer timed */
#define FLIGHT		4	/* reads in flight for the throughput figure */
#define FLIGHT_MAX	200	/* reads of each kind a round, FLIGHT at once:
				   with READS_MAX, under the node's nonce
				   store's ~15,000 requests a run */
#define READ_LINE	256	/* bytes of a read_file request line */

static char dir[] = "/tmp/nucleus-bench-mcp-XXXXXX";
static char node_bin[PATH_MAX], mcp_bin[PATH_MAX], node_sock[PATH_MAX];
static pid_t node_pid, mcp_pid;
static struct audit_seckey *agent, *admin;

static void
cleanup(void)
{
	bench_stop(&mcp_pid);
	bench_stop(&node_pid);
	bench_rmdir(dir);
}

static struct audit_seckey *
key(const char *kid, const char *role, char *ring, size_t ringsz)
{
	struct audit_seckey *k;
	struct audit_err e;
	char line[256];

	if (audit_seckey_generate(&k, kid, &e) != 0)
		errx(1, "%s", e.msg);
	if (audit_keyring_line(k, role, line, sizeof(line)) != 0)
		errx(1, "keyring line");
	strncat(ring, line, ringsz - strlen(ring) - 2);
	strcat(ring, "\n");
	return k;
}

/* The node's directory: its key, a keyring of an admin and an agent. */
static void
setup_dirs(void)
{
	char ring[1024] = "", other[1024] = "";
	struct audit_seckey *k;
	struct audit_err e;

	if (chmod(dir, 0755) != 0 || mkdir(bench_tmp(dir, "n"), 0711) != 0)
		err(1, "%s", dir);
	k = key("node-1", NULL, other, sizeof(other));
	if (audit_seckey_save(k, bench_tmp(dir, "n/node.key"), &e) != 0)
		errx(1, "%s", e.msg);
	audit_seckey_free(k);
	admin = key("admin-1", "admin", ring, sizeof(ring));
	agent = key("agent-1", "agent", ring, sizeof(ring));
	if (audit_seckey_save(agent, bench_tmp(dir, "agent.key"), &e) != 0)
		errx(1, "%s", e.msg);
	bench_put(bench_tmp(dir, "n/keyring"), ring, 0600);
	other[0] = '\0';
	k = key("authority-1", NULL, other, sizeof(other));
	audit_seckey_free(k);
	bench_put(bench_tmp(dir, "n/trust"), other, 0600);
}

static void
start_node(void)
{
	struct stat st;
	int fd;

	snprintf(node_sock, sizeof(node_sock), "%s", bench_tmp(dir,
	    "n/node.sock"));
	if ((node_pid = fork()) < 0)
		err(1, "fork");
	if (node_pid == 0) {
		if ((fd = open(bench_tmp(dir, "node.err"), O_WRONLY | O_CREAT |
		    O_TRUNC, 0600)) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execl(node_bin, node_bin, "serve", "-d", bench_tmp(dir, "n"),
		    (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < WAIT_MS / 10 && stat(node_sock, &st) != 0; i++)
		usleep(10000);
	if (stat(node_sock, &st) != 0)
		errx(1, "the node did not start: see %s", bench_tmp(dir,
		    "node.err"));
}

/* One signed request on r's connection; its answer, which must be ok. */
static long request_n;	/* the last request's number */

static void
request_send(struct wire_reader *r, const struct audit_seckey *k,
    const char *pod, const char *op, json_t *args)
{
	struct audit_err e;
	json_t *o;
	char id[32];

	snprintf(id, sizeof(id), "b%ld", ++request_n);
	if ((o = wire_request(id, pod, op, args, NULL, k, &e)) == NULL ||
	    wire_send(r->fd, o, &e) != 0)
		errx(1, "%s: %s", op, e.msg);
	json_decref(o);
}

/* An answer on r's connection, which must be ok. */
static json_t *
request_answer(struct wire_reader *r, const char *op)
{
	struct audit_err e;
	json_t *resp;

	if (wire_read(r, 0, &resp, &e) != 0)
		errx(1, "%s: %s", op, e.msg);
	if (!json_is_true(json_object_get(resp, "ok")))
		errx(1, "%s: %s", op, r->line);
	return resp;
}

static json_t *
request(struct wire_reader *r, const struct audit_seckey *k, const char *pod,
    const char *op, json_t *args)
{
	request_send(r, k, pod, op, args);
	return request_answer(r, op);
}

/* Pod "bench" holding the 4 KiB file. */
static void
make_pod(void)
{
	struct wire_reader r = { .fd = -1, .max = ANSWER_MAX };
	struct audit_err e;
	char data[4097];

	memset(data, 'a', 4096);
	for (int i = 80; i < 4096; i += 81)
		data[i] = '\n';
	data[4096] = '\0';
	if ((r.fd = wire_connect(node_sock, &e)) < 0)
		errx(1, "%s", e.msg);
	json_decref(request(&r, admin, "", "pod.create", json_pack("{s:i, "
	    "s:s, s:s, s:[s], s:{s:i, s:i, s:i}}", "v", 1, "name", "bench",
	    "policy", "local_dev", "agents", "agent-1", "resources",
	    "memory_mib", 256, "pids", 64, "scratch_mib", 32)));
	json_decref(request(&r, agent, "bench", "write", json_pack("{s:s, "
	    "s:s}", "path", "4k.txt", "content", data)));
	wire_reader_free(&r);
}

/* nucleus-mcp on two pipes, initialized. */
static int mcp_in = -1;
static struct wire_reader mcp_out = { .fd = -1, .max = ANSWER_MAX };

static void
mcp_send(const char *line)
{
	if (audit_writeall(mcp_in, line, strlen(line)) != 0)
		err(1, "nucleus-mcp's stdin");
}

static json_t *
mcp_answer(void)
{
	struct audit_err e;
	json_t *m;

	if (wire_read(&mcp_out, 0, &m, &e) != 0)
		errx(1, "nucleus-mcp: %s", e.msg);
	return m;
}

static void
start_mcp(void)
{
	int in[2], out[2], fd;

	if (pipe(in) != 0 || pipe(out) != 0 || (mcp_pid = fork()) < 0)
		err(1, "pipe, fork");
	if (mcp_pid == 0) {
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 ||
		    (fd = open(bench_tmp(dir, "mcp.err"), O_WRONLY | O_CREAT |
		    O_TRUNC, 0600)) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		close(in[1]);
		close(out[0]);
		execl(mcp_bin, mcp_bin, "-l", node_sock, "-k", bench_tmp(dir,
		    "agent.key"), "bench", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	mcp_in = in[1];
	mcp_out.fd = out[0];
	mcp_send("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\","
	    "\"params\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":"
	    "{},\"clientInfo\":{\"name\":\"bench-mcp\",\"version\":\"1\"}}}\n"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n");
	json_decref(mcp_answer());
}

/* A read_file's line, under the next id, into READ_LINE bytes. */
static void
mcp_read_line(char *line)
{
	static long id = 1;

	snprintf(line, READ_LINE, "{\"jsonrpc\":\"2.0\",\"id\":%ld,"
	    "\"method\":\"tools/call\",\"params\":{\"name\":"
	    "\"read_file\",\"arguments\":{\"path\":\"4k.txt\"}}}\n", id++);
}

/* A read_file's answer: its 4096 bytes checked. */
static void
mcp_read_answer(void)
{
	json_t *m = mcp_answer(), *res = json_object_get(m, "result");

	if (res == NULL || json_is_true(json_object_get(res, "isError")) ||
	    json_integer_value(json_object_get(json_object_get(res,
	    "structuredContent"), "length")) != 4096)
		errx(1, "read_file: %s", mcp_out.line);
	json_decref(m);
}

/* One read_file through nucleus-mcp. */
static void
mcp_read(void)
{
	char line[READ_LINE];

	mcp_read_line(line);
	mcp_send(line);
	mcp_read_answer();
}

/*
 * FLIGHT reads of each kind at once, in turn, for SECONDS: the reads a
 * second of each (the node and nucleus-mcp both take several requests
 * at once; their answers come in any order).
 */
static void
round_flight(struct wire_reader *r, double *nd, double *td, double *nm,
    double *tm)
{
	double end = bench_now() + SECONDS, t;
	char lines[FLIGHT * READ_LINE], one[READ_LINE];

	for (int n = 0; n < FLIGHT_MAX / FLIGHT && bench_now() < end; n++) {
		t = bench_now();
		for (int i = 0; i < FLIGHT; i++)
			request_send(r, agent, "bench", "read", json_pack(
			    "{s:s}", "path", "4k.txt"));
		for (int i = 0; i < FLIGHT; i++)
			json_decref(request_answer(r, "read"));
		*td += bench_now() - t;
		*nd += FLIGHT;
		t = bench_now();
		lines[0] = '\0';
		for (int i = 0; i < FLIGHT; i++) {
			mcp_read_line(one);
			strcat(lines, one);
		}
		mcp_send(lines);	/* one write, as a client's burst */
		for (int i = 0; i < FLIGHT; i++)
			mcp_read_answer();
		*tm += bench_now() - t;
		*nm += FLIGHT;
	}
}

/*
 * A round: the two kinds of read in alternation, one of each in turn,
 * so that whatever the disk and the machine do hits both alike.
 */
static void
round_reads(struct wire_reader *r, struct series *d, struct series *m)
{
	double t0 = bench_now(), end = t0 + SECONDS, t;

	for (int n = 0; n < READS_MAX && bench_now() < end; n++) {
		t = bench_now();
		json_decref(request(r, agent, "bench", "read", json_pack(
		    "{s:s}", "path", "4k.txt")));
		series_add(d, bench_now() - t);
		t = bench_now();
		mcp_read();
		series_add(m, bench_now() - t);
	}
	/* Each kind took about half of the round. */
	d->elapsed += (bench_now() - t0) / 2;
	m->elapsed += (bench_now() - t0) / 2;
}

/*
 * What a client of this program's kind (jansson) spends parsing one
 * answer of that text, in seconds: part of either kind's round trip.
 */
static double
parse_cost(const char *line)
{
	json_error_t jerr;
	double t = bench_now();

	for (int i = 0; i < PARSES; i++)
		json_decref(json_loadb(line, strlen(line),
		    JSON_REJECT_DUPLICATES, &jerr));
	return (bench_now() - t) / PARSES;
}

/* The CPU seconds process pid has used (its user and system time). */
static double
cpu_seconds(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	/* After the command's name in parentheses: fields 3 on. */
	if (p == NULL || (p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void
print_reads(const char *what, const struct figure *f)
{
	printf("%-28s p50 %7.1f us  p99 %7.1f us  %7.0f /s\n", what,
	    f->p50 * 1e6, f->p99 * 1e6, f->rps);
}

int
main(void)
{
	struct wire_reader r = { .fd = -1, .max = ANSWER_MAX };
	struct series d = { 0 }, m = { 0 };
	struct figure fd, fm;
	struct audit_err e;
	double added, *diff, pair, cpu0, cpu, pd, pm;
	double fnd = 0, ftd = 0, fnm = 0, ftm = 0;
	size_t calls, ld, lm;

	if (sodium_init() < 0)
		errx(1, "libsodium");
	if (geteuid() != 0)
		errx(1, "the node's local driver needs root");
	bench_beside("nucleus-node", node_bin, sizeof(node_bin));
	bench_beside("nucleus-mcp", mcp_bin, sizeof(mcp_bin));
	if (mkdtemp(dir) == NULL)
		err(1, "mkdtemp");
	atexit(cleanup);
	signal(SIGPIPE, SIG_IGN);
	setup_dirs();
	start_node();
	make_pod();
	start_mcp();
	if ((r.fd = wire_connect(node_sock, &e)) < 0)
		errx(1, "%s", e.msg);
	cpu0 = cpu_seconds(mcp_pid);
	for (int i = 0; i < ROUNDS; i++)
		round_reads(&r, &d, &m);
	cpu = cpu_seconds(mcp_pid) - cpu0;
	calls = m.n;
	for (int i = 0; i < ROUNDS; i++)
		round_flight(&r, &fnd, &ftd, &fnm, &ftm);
	ld = strlen(r.line);
	lm = strlen(mcp_out.line);
	pd = parse_cost(r.line);
	pm = parse_cost(mcp_out.line);
	wire_reader_free(&r);
	/* The pairs in order (a direct read, then its MCP twin): the
	 * median of their differences is the adapter's own time, whatever
	 * the disk's syncs add to both. */
	diff = calloc(d.n, sizeof(*diff));
	for (size_t i = 0; diff != NULL && i < d.n && i < m.n; i++)
		diff[i] = m.v[i] - d.v[i];
	if (diff != NULL)
		qsort(diff, d.n, sizeof(*diff), bench_cmp_double);
	pair = diff != NULL ? bench_pct(diff, d.n, 0.5) : 0;
	free(diff);
	fd = series_figure(&d);
	fm = series_figure(&m);
	added = fm.p50 / fd.p50 - 1;
	printf("nucleus-mcp, an MCP tools/call of read_file, against the same "
	    "signed read on an open connection (through the node, local "
	    "driver, durable audit; %d rounds)\n", ROUNDS);
	print_reads("direct read 4 KiB, 1", &fd);
	print_reads("mcp read_file 4 KiB, 1", &fm);
	printf("  mcp/direct: p50 %4.2f x, p99 %4.2f x, rps %4.2f x\n",
	    fm.p50 / fd.p50, fm.p99 / fd.p99, fm.rps / fd.rps);
	printf("  mcp - direct, pair by pair: median %+7.1f us; nucleus-mcp's "
	    "own CPU: %.1f us a call\n", pair * 1e6, calls > 0 ? cpu /
	    (double)calls * 1e6 : 0);
	printf("  a client's parse of one answer (jansson, as here): direct "
	    "%.1f us (%zu bytes), mcp %.1f us (%zu bytes: the result twice, "
	    "as structuredContent and as its text)\n", pd * 1e6, ld, pm * 1e6,
	    lm);
	printf("%d reads in flight at once: direct %.0f /s, mcp %.0f /s "
	    "(%4.2f x)\n", FLIGHT, fnd / ftd, fnm / ftm, (fnm / ftm) /
	    (fnd / ftd));
	printf("goal: the adapter adds at most %.0f%% to the p50 at "
	    "concurrency 1: adds %.0f%%: %s\n", GOAL_ADDED * 100, added * 100,
	    added <= GOAL_ADDED ? "met" : "NOT met");
	return 0;
}
