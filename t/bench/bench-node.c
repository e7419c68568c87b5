/*
 * bench-node: nucleus-node serve with the local driver and its durable
 * audit, against nucleus-proxy alone, measured in the same run on the
 * same disk.
 *
 *	read	a signed read of a 4 KiB file, at concurrency 1 (one
 *		connection, one request at a time) and 16 (one connection
 *		pipelining 16, as bench-proxy does): median and p99
 *		latency, requests per second.  Through the node, and sent
 *		the same way straight to a nucleus-proxy listening on a
 *		socket (-l), which has a pod of the same name and does not
 *		check signatures.
 *	clients	the same read from CLIENTS connections at once, each one
 *		request at a time (through the node, and to the proxy)
 *	fdatasync  one small append and its fdatasync, in the same
 *		directory: the median, which the goals count in
 *	ready	pod create-to-ready: from sending a signed pod.create to
 *		the first answer of a stat through the node for that pod;
 *		against a plain fork+exec of nucleus-proxy on a socketpair
 *		(-f, no sandbox, no -C) until it answers its first stat.
 *
 * Every request is freshly signed (Ed25519, a fresh nonce) by the
 * client, which is the client's cost: latency runs from the send to the
 * response line, and the mean cost of a signature is printed apart.  A
 * request through the node costs more fdatasyncs than one to the proxy
 * alone: the node syncs its LMDB nonce store before it forwards and the
 * pod's host audit copy before it relays, while the pod's own log is on
 * the sandbox's tmpfs.  Figures, not a test: nothing here fails on speed.
 * The goals (issue 19): with 16 pipelined on one connection and with 16
 * clients, the node serves at least GOAL_RPS of the proxy's requests a
 * second; at concurrency 1 its p50 is at most the proxy's plus one
 * fdatasync plus GOAL_SLACK.
 *
 * Where the guest image is built (../guest, make guest) and QEMU is on
 * PATH, the qemu driver too, against the local driver in the same run:
 *
 *	vm ready	pod.create to the first answered stat, median of
 *			VM_CREATES, against the local driver's
 *	vm read		a signed read of the 4 KiB file at concurrency 1
 *			through the node, to a qemu pod and to a local
 *			pod, in turns
 *
 * The node and the proxy are the ones built beside this program
 * (../nucleus-node, ../nucleus-proxy); the node needs root.
 * "bench-node profile [depth]" runs only the node's reads, 16 (or depth)
 * at once, for 4 s, to give perf(1) something to look at.
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"

#include "bench.h"

#define ROUNDS		5	/* each figure is taken in turns with the others,
				   so that drift on a shared machine hits all */
#define SECONDS		0.4	/* per read figure per round */
#define DEPTH		16	/* requests in flight */
#define NODE_INFLIGHT	64	/* the most the node takes from one client */
#define PROFILE_SECONDS	4
#define PROFILE_READS_MAX 12000
#define CREATES		20	/* pods created, and proxies started */
#define LAT_MAX		200000	/* requests in one read figure */
#define NODE_READS_MAX	LAT_MAX	/* requests in one figure of the node's */
#define WAIT_MS		10000	/* for a daemon to start or stop */
#define FAULTS_MAX	0	/* pods the node may stop for their copy: an
				   answer ahead of its record is a bug */
#define GOAL_RPS	0.8	/* the node's rate at least this of the
				   proxy's, at 16 (pipelined, and clients) */
#define GOAL_SLACK	150e-6	/* seconds the node adds to the proxy's p50
				   at concurrency 1, past one fdatasync */
#define CLIENTS		16	/* connections at once, one request each */
#define SYNCS		200	/* appends+fdatasyncs timed for the figure */
#define GOAL_READY	0.050	/* seconds for a local pod to be ready */
#define VM_CREATES	5	/* qemu pods created */
#define VM_SECONDS	1.0	/* per VM read figure per round */

static char dir[] = "/tmp/nucleus-bench-node-XXXXXX";
static char node_bin[PATH_MAX], proxy_bin[PATH_MAX], guest_dir[PATH_MAX];
static const char *read_pod = "bench";	/* whose file the reads read */
static char node_sock[PATH_MAX], proxy_sock[PATH_MAX];
static pid_t node_pid, proxy_pid;
static struct audit_seckey *agent, *admin;
static double seconds = SECONDS;
static long node_reads_max = NODE_READS_MAX;
static int faults;		/* pods stopped for an audit copy fault */
static int capped;		/* a figure of the node's ended at its cap */
static double sign_time;	/* spent signing reads, and how many */
static long sign_n;

/* A client connection with a line reader. */
struct client {
	int	 fd;
	char	 buf[65536];
	size_t	 len, off;
	long	 id;
};

/*
 * On every exit, errors too: the node stops (and stops its pods), the
 * proxy stops, no files are left.
 */
static void
cleanup(void)
{
	bench_stop(&node_pid);
	bench_stop(&proxy_pid);
	bench_rmdir(dir);
}

/* The programs under test, found beside this one. */
static void
find_programs(void)
{
	bench_beside("nucleus-node", node_bin, sizeof(node_bin));
	bench_beside("nucleus-proxy", proxy_bin, sizeof(proxy_bin));
	/* ../guest beside ../nucleus-node: the build directory's. */
	if (audit_fit(guest_dir, sizeof(guest_dir), NULL, "%.*s/guest",
	    (int)(strrchr(node_bin, '/') - node_bin), node_bin) != 0)
		errx(2, "%s: the guest directory's path does not fit", node_bin);
	if (getenv("NUCLEUS_GUEST") != NULL &&
	    audit_fit(guest_dir, sizeof(guest_dir), NULL, "%s",
	    getenv("NUCLEUS_GUEST")) != 0)
		errx(2, "NUCLEUS_GUEST: the path does not fit");
	if (access(bench_tmp(guest_dir, "initramfs.cpio"), R_OK) != 0 ||
	    system("command -v qemu-system-x86_64 >/dev/null") != 0)
		guest_dir[0] = '\0';
}

/* Signing. */

/* A signed request line, newline-terminated, into b. */
static void
sign_req(struct audit_buf *b, const struct audit_seckey *k, const char *id,
    const char *pod, const char *op, json_t *args)
{
	uint8_t nonce[AUDIT_NONCE_LEN];
	char hex[2 * AUDIT_NONCE_LEN + 1];
	struct audit_err e;
	json_t *o;

	randombytes_buf(nonce, sizeof(nonce));
	audit_hex(hex, nonce, sizeof(nonce));
	o = json_pack("{s:s, s:i, s:s, s:s, s:I, s:s, s:s, s:s, s:O}", "type",
	    "request", "v", 1, "id", id, "kid", k->kid, "ts",
	    (json_int_t)time(NULL), "nonce", hex, "pod", pod, "op", op, "args",
	    args);
	b->len = 0;
	if (o == NULL || audit_sign(o, "request", k, &e) != 0 ||
	    cjson_encode(o, b, &e) != 0 || audit_buf_add(b, "\n", 1) != 0)
		errx(1, "signing a request: %s", o == NULL ? "json" : e.msg);
	json_decref(o);
}

/* The client. */

static void
dial(struct client *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path))
		errx(1, "%s: too long for a socket", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		err(1, "%s", path);
	c->len = c->off = 0;
}

static void
send_line(struct client *c, const struct audit_buf *b)
{
	if (audit_writeall(c->fd, b->p, b->len) != 0)
		err(1, "send");
}

/*
 * The next response line of c, NUL-terminated, in *line: its numeric id
 * ("r<n>"), or -1 if it was not ok.
 */
static long
next_response(struct client *c, const char **line)
{
	char *nl, *p;
	ssize_t r;

	for (;;) {
		if ((nl = memchr(c->buf + c->off, '\n', c->len - c->off))) {
			long id = -1;

			*nl = '\0';
			*line = c->buf + c->off;
			p = strstr(*line, "\"id\":\"r");
			if (p != NULL && strstr(*line, "\"ok\":true") != NULL)
				id = strtol(p + 7, NULL, 10);
			c->off = (size_t)(nl - c->buf) + 1;
			return id;
		}
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
		if (c->len == sizeof(c->buf))
			errx(1, "response too long");
		r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			errx(1, "the server closed the connection");
		c->len += (size_t)r;
	}
}

/* One signed request, its response: 0 if ok; the line in *line. */
static int
call(struct client *c, const struct audit_seckey *k, const char *pod,
    const char *op, const char *args_text, const char **line)
{
	struct audit_buf b = { 0 };
	json_t *args = json_loads(args_text, 0, NULL);
	char id[32];
	long got;

	if (args == NULL)
		errx(1, "bad args %s", args_text);
	snprintf(id, sizeof(id), "r%ld", c->id);
	sign_req(&b, k, id, pod, op, args);
	send_line(c, &b);
	got = next_response(c, line);
	audit_buf_free(&b);
	json_decref(args);
	return got == c->id++ ? 0 : -1;
}

/* The same, where anything but ok is the end of the bench. */
static void
must(struct client *c, const struct audit_seckey *k, const char *pod,
    const char *op, const char *args_text)
{
	const char *line;

	if (call(c, k, pod, op, args_text, &line) != 0)
		errx(1, "%s %s: %s", op, args_text, line);
}

/* Setting up: the node's directory, the node, the proxy. */

static struct audit_seckey *
key(const char *kid, const char *role, char *ring, size_t ringsz)
{
	struct audit_seckey *k;
	struct audit_err e;
	char line[256];

	if (audit_seckey_generate(&k, kid, &e) != 0)
		errx(1, "%s", e.msg);
	if (ring != NULL) {
		if (audit_keyring_line(k, role, line, sizeof(line)) != 0)
			errx(1, "keyring line");
		strncat(ring, line, ringsz - strlen(ring) - 2);
		strcat(ring, "\n");
	}
	return k;
}

/* A pod file of the proxy's: pod "bench" on root, its state in state. */
static void
pod_file(const char *name, const char *state)
{
	char pod[3 * PATH_MAX];

	if (mkdir(bench_tmp(dir, state), 0700) != 0)
		err(1, "%s", bench_tmp(dir, state));
	snprintf(pod, sizeof(pod), "{\"v\":1,\"pod\":\"bench\",\"policy\":"
	    "\"local_dev\",\"root\":\"%s\",\"state\":\"%s\",\"trust\":\"%s\","
	    "\"costs\":{\"base_microusd\":0,\"run_second_microusd\":0}}\n",
	    bench_tmp(dir, "root"), bench_tmp(dir, state), bench_tmp(dir, "trust"));
	bench_put(bench_tmp(dir, name), pod, 0600);
}

/*
 * dir (searchable by the pods' uid 65534) holds the node's directory n
 * (its key, a keyring of an admin and an agent, the authority's key
 * trusted), and the proxy's own: root with the 4 KiB file, and two pod
 * files, for the proxy on a socket and for those started on -f.
 */
static void
setup_dirs(void)
{
	char ring[1024] = "", data[4097], line[256];
	struct audit_seckey *k;
	struct audit_err e;

	if (chmod(dir, 0755) != 0 || mkdir(bench_tmp(dir, "n"), 0711) != 0 ||
	    mkdir(bench_tmp(dir, "root"), 0755) != 0)
		err(1, "%s", dir);
	k = key("node-1", NULL, NULL, 0);
	if (audit_seckey_save(k, bench_tmp(dir, "n/node.key"), &e) != 0)
		errx(1, "%s", e.msg);
	audit_seckey_free(k);
	admin = key("admin-1", "admin", ring, sizeof(ring));
	agent = key("agent-1", "agent", ring, sizeof(ring));
	bench_put(bench_tmp(dir, "n/keyring"), ring, 0600);
	k = key("authority-1", NULL, NULL, 0);
	if (audit_keyring_line(k, NULL, line, sizeof(line)) != 0)
		errx(1, "keyring line");
	audit_seckey_free(k);
	strcat(line, "\n");
	bench_put(bench_tmp(dir, "n/trust"), line, 0600);
	bench_put(bench_tmp(dir, "trust"), line, 0600);
	memset(data, 'a', 4096);
	for (int i = 80; i < 4096; i += 81)
		data[i] = '\n';
	data[4096] = '\0';
	bench_put(bench_tmp(dir, "root/4k.txt"), data, 0644);
	pod_file("pod.json", "state");
	pod_file("ready.json", "ready-state");
}

/* Start argv[0], stderr to errfile, and wait until sock exists. */
static pid_t
start(char *const *argv, const char *errfile, const char *sock)
{
	struct stat st;
	pid_t pid;
	int fd;

	if ((pid = fork()) < 0)
		err(1, "fork");
	if (pid == 0) {
		if ((fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC,
		    0600)) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execv(argv[0], argv);
		warn("%s", argv[0]);
		_exit(127);
	}
	for (int i = 0; i < WAIT_MS / 10 && stat(sock, &st) != 0; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			errx(1, "%s did not start: see %s", argv[0], errfile);
		usleep(10000);
	}
	if (stat(sock, &st) != 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		errx(1, "%s: no socket %s", argv[0], sock);
	}
	return pid;
}

static void
start_daemons(void)
{
	char *node_argv[] = { node_bin, "serve", "-d", NULL, NULL, NULL,
	    NULL };
	char *proxy_argv[] = { proxy_bin, "-p", NULL, "-l", proxy_sock, NULL };
	char ndir[PATH_MAX], podfile[PATH_MAX];

	snprintf(ndir, sizeof(ndir), "%s", bench_tmp(dir, "n"));
	snprintf(node_sock, sizeof(node_sock), "%s", bench_tmp(dir, "n/node.sock"));
	node_argv[3] = ndir;
	if (guest_dir[0] != '\0') {
		node_argv[4] = "-G";
		node_argv[5] = guest_dir;
	}
	node_pid = start(node_argv, bench_tmp(dir, "node.err"), node_sock);
	snprintf(podfile, sizeof(podfile), "%s", bench_tmp(dir, "pod.json"));
	snprintf(proxy_sock, sizeof(proxy_sock), "%s", bench_tmp(dir, "proxy.sock"));
	proxy_argv[2] = podfile;
	proxy_pid = start(proxy_argv, bench_tmp(dir, "proxy.err"), proxy_sock);
}

/* The pod spec of a pod that names the agent. */
static void
spec_text(char *buf, size_t sz, const char *name, const char *driver)
{
	snprintf(buf, sz, "{\"v\":1,\"name\":\"%s\",\"driver\":\"%s\","
	    "\"policy\":\"local_dev\",\"agents\":[\"agent-1\"],"
	    "\"resources\":{\"memory_mib\":256,\"pids\":64,"
	    "\"scratch_mib\":32}}", name, driver);
}

/* Does the node list pod name? */
static int
listed(struct client *c, const char *name)
{
	char needle[128];
	const char *line;

	if (call(c, admin, "", "pod.list", "{}", &line) != 0)
		errx(1, "pod.list: %s", line);
	snprintf(needle, sizeof(needle), "\"pod\":\"%s\"", name);
	return strstr(line, needle) != NULL;
}

/* Wait until the node no longer lists pod name (it has been reaped). */
static void
gone(const char *name)
{
	struct client c = { 0 };

	dial(&c, node_sock);
	for (int i = 0; listed(&c, name); i++) {
		if (i == WAIT_MS / 5)
			errx(1, "pod %s did not stop", name);
		usleep(5000);
	}
	close(c.fd);
}

/* One more audit copy fault: too many and the figures mean nothing. */
static void
fault(void)
{
	if (++faults > FAULTS_MAX)
		errx(1, "the node stopped the pod for an audit copy fault %d "
		    "times: see %s", faults, bench_tmp(dir, "n/audit.log"));
}

/* The node's pod name, holding the same 4 KiB file as the proxy's. */
static void
node_pod_named(const char *name, const char *driver)
{
	char spec[512], args[8192], *p;
	struct client c = { 0 };

	spec_text(spec, sizeof(spec), name, driver);
	dial(&c, node_sock);
	must(&c, admin, "", "pod.create", spec);
	p = args + snprintf(args, sizeof(args), "{\"path\":\"4k.txt\","
	    "\"content\":\"");
	for (int i = 0; i < 4096; i++)
		if ((i + 1) % 81 == 0)
			p += sprintf(p, "\\n");
		else
			*p++ = 'a';
	strcpy(p, "\"}");
	must(&c, agent, name, "write", args);
	must(&c, agent, name, "stat", "{\"path\":\"4k.txt\"}");
	close(c.fd);
}

static void
node_pod(void)
{
	node_pod_named("bench", "local");
}

/* The reads. */

/* Sign read number id into b; the time it took, counted. */
static void
sign_read(struct audit_buf *b, long id, json_t *args)
{
	char name[32];
	double t0 = bench_now();

	snprintf(name, sizeof(name), "r%ld", id);
	sign_req(b, agent, name, read_pod, "read", args);
	sign_time += bench_now() - t0;
	sign_n++;
}

/*
 * The node stopped the pod: its audit copy failed, most likely because
 * the proxy answered before the record naming the answer reached the
 * node.  That is a fault of the pod, not of the bench: counted, shown.
 */
static int
copy_failed(const char *line)
{
	return strstr(line, "\"kind\":\"unavailable\"") != NULL &&
	    strstr(line, "audit copy failed") != NULL;
}

/*
 * Reads of the 4 KiB file at sock with depth requests in flight on one
 * connection, for `seconds'; each signed just before it is sent.  1 if
 * the node stopped the pod for an audit copy fault (then the requests
 * in flight are drained), else 0.
 */
static int
reads(const char *sock, int depth, double dur, long max, struct series *out)
{
	static double sent[LAT_MAX];
	struct audit_buf b = { 0 };
	struct client c = { 0 };
	json_t *args = json_pack("{s:s}", "path", "4k.txt");
	const char *line;
	double t0, end;
	long next = 0, inflight = 0;
	int fault = 0;

	dial(&c, sock);
	must(&c, agent, read_pod, "stat", "{\"path\":\"4k.txt\"}");  /* warm */
	t0 = bench_now();
	end = t0 + dur;
	for (; inflight < depth; inflight++) {
		sign_read(&b, next, args);
		sent[next] = bench_now();
		send_line(&c, &b);
		next++;
	}
	while (inflight > 0) {
		long id = next_response(&c, &line);
		double t = bench_now();

		inflight--;
		/* Once the pod is stopped, whatever was in flight fails. */
		if (id < 0 && (fault || copy_failed(line))) {
			fault = 1;
			continue;
		}
		if (id < 0 || id >= next)
			errx(1, "a read failed: %s", line);
		series_add(out, t - sent[id]);
		if (next == max)
			capped = 1;
		if (t < end && next < max && !fault) {
			sign_read(&b, next, args);
			sent[next] = bench_now();
			send_line(&c, &b);
			next++;
			inflight++;
		}
	}
	out->elapsed += bench_now() - t0;
	audit_buf_free(&b);
	json_decref(args);
	close(c.fd);
	return fault;
}

/*
 * Reads through the node; a pod stopped for its copy is made again, and
 * the figure goes on for what is left of its time and requests.
 */
static void
node_reads(int depth, struct series *out)
{
	double left = seconds, e0;
	long max = node_reads_max;
	size_t n0;

	for (;;) {
		n0 = out->n;
		e0 = out->elapsed;
		if (reads(node_sock, depth, left, max, out) == 0)
			return;
		fault();
		gone("bench");
		node_pod();
		left -= out->elapsed - e0;
		max -= (long)(out->n - n0);
		if (left <= 0 || max <= 0)
			return;
	}
}

/*
 * Reads of the 4 KiB file at sock from n connections at once, each with
 * one request in flight, for dur; as reads() does, 1 if the node stopped
 * the pod for an audit copy fault.
 */
static int
reads_clients(const char *sock, int n, double dur, long max,
    struct series *out)
{
	static struct client cs[CLIENTS];
	double sent[CLIENTS], t0, end;
	struct pollfd pfd[CLIENTS];
	struct audit_buf b = { 0 };
	json_t *args = json_pack("{s:s}", "path", "4k.txt");
	const char *line;
	long next = 0;
	int inflight = 0, fault = 0;

	for (int i = 0; i < n; i++) {
		dial(&cs[i], sock);
		must(&cs[i], agent, read_pod, "stat", "{\"path\":\"4k.txt\"}");
	}
	t0 = bench_now();
	end = t0 + dur;
	for (int i = 0; i < n; i++, inflight++) {
		sign_read(&b, cs[i].id, args);
		sent[i] = bench_now();
		send_line(&cs[i], &b);
		next++;
	}
	while (inflight > 0) {
		for (int i = 0; i < n; i++)
			pfd[i] = (struct pollfd){ cs[i].fd, POLLIN, 0 };
		if (poll(pfd, (nfds_t)n, WAIT_MS) <= 0)
			errx(1, "no answer in %d ms", WAIT_MS);
		for (int i = 0; i < n; i++) {
			struct client *c = &cs[i];
			long id;
			double t;

			if (pfd[i].revents == 0 || c->fd < 0)
				continue;
			id = next_response(c, &line);
			t = bench_now();
			inflight--;
			if (id < 0 && (fault || copy_failed(line)))
				fault = 1;
			else if (id != c->id)
				errx(1, "a read failed: %s", line);
			else
				series_add(out, t - sent[i]);
			c->id++;
			if (next == max)
				capped = 1;
			if (t < end && next < max && !fault) {
				sign_read(&b, c->id, args);
				sent[i] = bench_now();
				send_line(c, &b);
				next++;
				inflight++;
			} else {
				close(c->fd);
				c->fd = -1;
			}
		}
	}
	out->elapsed += bench_now() - t0;
	audit_buf_free(&b);
	json_decref(args);
	return fault;
}

/* The same through the node, a pod stopped for its copy made again. */
static void
node_reads_clients(int n, struct series *out)
{
	double left = seconds, e0;
	long max = node_reads_max;
	size_t n0;

	for (;;) {
		n0 = out->n;
		e0 = out->elapsed;
		if (reads_clients(node_sock, n, left, max, out) == 0)
			return;
		fault();
		gone("bench");
		node_pod();
		left -= out->elapsed - e0;
		max -= (long)(out->n - n0);
		if (left <= 0 || max <= 0)
			return;
	}
}

/* One small append and its fdatasync, in the bench's directory: median. */
static double
fdatasync_median(void)
{
	double t[SYNCS], t0;
	char rec[300];
	int fd = open(bench_tmp(dir, "sync"), O_WRONLY | O_CREAT | O_APPEND |
	    O_CLOEXEC, 0600);

	if (fd < 0)
		err(1, "%s", bench_tmp(dir, "sync"));
	memset(rec, 'x', sizeof(rec));
	rec[sizeof(rec) - 1] = '\n';
	for (int i = 0; i < SYNCS; i++) {
		t0 = bench_now();
		if (write(fd, rec, sizeof(rec)) != (ssize_t)sizeof(rec) ||
		    fdatasync(fd) != 0)
			err(1, "fdatasync");
		t[i] = bench_now() - t0;
	}
	close(fd);
	qsort(t, SYNCS, sizeof(t[0]), bench_cmp_double);
	return bench_pct(t, SYNCS, 0.5);
}

/* Pod create-to-ready. */

/*
 * Create pod name, time it until a stat through the node answers; then
 * stop it and wait until the node no longer lists it (not timed).  -1
 * if the node stopped it for an audit copy fault instead.
 */
static double
create_ready(const char *name, const char *driver)
{
	struct audit_buf create = { 0 }, probe = { 0 };
	struct client c = { 0 };
	json_t *spec, *args = json_pack("{s:s}", "path", ".");
	char text[512];
	const char *line;
	double t0, t;
	int tries = 0;

	spec_text(text, sizeof(text), name, driver);
	if ((spec = json_loads(text, 0, NULL)) == NULL)
		errx(1, "spec");
	dial(&c, node_sock);
	sign_req(&create, admin, "r0", "", "pod.create", spec);
	sign_req(&probe, agent, "r1", name, "stat", args);
	t0 = bench_now();
	send_line(&c, &create);
	if (next_response(&c, &line) != 0)
		errx(1, "pod.create %s: %s", name, line);
	for (;;) {
		send_line(&c, &probe);
		if (next_response(&c, &line) == 1)
			break;
		if (copy_failed(line)) {
			t = -1;
			goto out;
		}
		if (++tries == 100)
			errx(1, "pod %s never answered: %s", name, line);
		sign_req(&probe, agent, "r1", name, "stat", args);
	}
	t = bench_now() - t0;
	c.id = 2;
	must(&c, admin, name, "pod.stop", "{}");
out:
	close(c.fd);
	gone(name);
	audit_buf_free(&create);
	audit_buf_free(&probe);
	json_decref(spec);
	json_decref(args);
	return t;
}

/*
 * The baseline: fork+exec of the proxy on a socketpair (-f 3, as the
 * local driver starts it, but with no sandbox and no -C), until its
 * first stat is answered; then it is stopped (not timed).
 */
static double
proxy_ready(void)
{
	struct audit_buf probe = { 0 };
	struct client c = { 0 };
	json_t *args = json_pack("{s:s}", "path", ".");
	const char *line;
	double t0, t;
	int sv[2], fd;
	pid_t pid;

	sign_req(&probe, agent, "r0", "bench", "stat", args);
	t0 = bench_now();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
	    (pid = fork()) < 0)
		err(1, "baseline");
	if (pid == 0) {
		/* dup2 leaves 3 open across the exec. */
		if ((fd = open(bench_tmp(dir, "ready.err"), O_WRONLY | O_CREAT | O_APPEND,
		    0600)) < 0 || dup2(fd, 2) < 0 || dup2(sv[1], 3) < 0)
			_exit(127);
		execl(proxy_bin, "nucleus-proxy", "-f", "3", "-p",
		    bench_tmp(dir, "ready.json"), (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	c.fd = sv[0];
	send_line(&c, &probe);
	if (next_response(&c, &line) != 0)
		errx(1, "the proxy started on -f 3 did not answer: %s (see %s)",
		    line, bench_tmp(dir, "ready.err"));
	t = bench_now() - t0;
	close(sv[0]);
	bench_stop(&pid);
	audit_buf_free(&probe);
	json_decref(args);
	return t;
}

/* The figures. */

static void
print_reads(const char *what, const struct figure *f)
{
	printf("%-24s p50 %7.1f us  p99 %7.1f us  %7.0f /s\n", what,
	    f->p50 * 1e6, f->p99 * 1e6, f->rps);
}

/* A goal, said: met or not. */
static void
goal(const char *what, int met)
{
	printf("goal: %s: %s\n", what, met ? "met" : "NOT met");
}

static void
report(struct figure *n1, struct figure *p1, struct figure *n16,
    struct figure *p16, struct figure *nc, struct figure *pc,
    struct figure *nr, struct figure *pr, double sync)
{
	double bound = p1->p50 + sync + GOAL_SLACK;
	char what[2048];	/* room for any double, as -Wformat-truncation counts */

	printf("nucleus-node, local driver, durable audit, against "
	    "nucleus-proxy alone (in %s; %d rounds)\n", dir, ROUNDS);
	printf("client: an Ed25519 signature of a request   mean %7.1f us "
	    "(not in the latencies)\n", sign_n > 0 ? sign_time / (double)sign_n
	    * 1e6 : 0);
	printf("disk: a 300-byte append and its fdatasync  median %7.1f us\n",
	    sync * 1e6);
	print_reads("proxy read 4 KiB, 1", p1);
	print_reads("node  read 4 KiB, 1", n1);
	printf("  node/proxy: p50 %4.2f x, p99 %4.2f x, rps %4.2f x; node p50 "
	    "- proxy p50 = %.1f us (%.2f fdatasyncs)\n", n1->p50 / p1->p50,
	    n1->p99 / p1->p99, n1->rps / p1->rps, (n1->p50 - p1->p50) * 1e6,
	    (n1->p50 - p1->p50) / sync);
	print_reads("proxy read 4 KiB, 16", p16);
	print_reads("node  read 4 KiB, 16", n16);
	printf("  node/proxy: p50 %4.2f x, p99 %4.2f x, rps %4.2f x "
	    "(16 pipelined on one connection)\n", n16->p50 / p16->p50,
	    n16->p99 / p16->p99, n16->rps / p16->rps);
	print_reads("proxy read 4 KiB, 16c", pc);
	print_reads("node  read 4 KiB, 16c", nc);
	printf("  node/proxy: p50 %4.2f x, p99 %4.2f x, rps %4.2f x "
	    "(%d clients, one request at a time each)\n", nc->p50 / pc->p50,
	    nc->p99 / pc->p99, nc->rps / pc->rps, CLIENTS);
	printf("proxy fork+exec to first stat     median %6.1f ms  p90 %6.1f "
	    "ms\n", pr->p50 * 1e3, pr->p90 * 1e3);
	printf("node pod.create to first stat     median %6.1f ms  p90 %6.1f "
	    "ms  %4.2f x baseline\n", nr->p50 * 1e3, nr->p90 * 1e3,
	    nr->p50 / pr->p50);
	if (capped)
		printf("note: some node figures stopped at %d requests a "
		    "round, before %.1f s\n", NODE_READS_MAX, SECONDS);
	if (faults > 0)
		printf("FAULT: the node stopped a pod %d times for an audit "
		    "copy fault (\"the pod answered before its audit record "
		    "reached the node\"); the pod was made again and the "
		    "requests then in flight left out\n", faults);
	snprintf(what, sizeof(what), "at concurrency 1 the node's p50 is at "
	    "most the proxy's + one fdatasync + %.0f us (%.1f us): %.1f us",
	    GOAL_SLACK * 1e6, bound * 1e6, n1->p50 * 1e6);
	goal(what, n1->p50 <= bound);
	snprintf(what, sizeof(what), "16 pipelined: the node serves at least "
	    "%.1f x the proxy's rate: %.2f x", GOAL_RPS, n16->rps / p16->rps);
	goal(what, n16->rps >= GOAL_RPS * p16->rps);
	snprintf(what, sizeof(what), "%d clients: the node serves at least "
	    "%.1f x the proxy's rate: %.2f x", CLIENTS, GOAL_RPS, nc->rps /
	    pc->rps);
	goal(what, nc->rps >= GOAL_RPS * pc->rps);
	snprintf(what, sizeof(what), "a local pod is ready in under %.0f ms: "
	    "median %.1f ms", GOAL_READY * 1e3, nr->p50 * 1e3);
	goal(what, nr->p50 < GOAL_READY);
}

/* The qemu driver's figures, against the local driver's. */
static void
vm_figures(const struct figure *local_ready)
{
	struct series vr = { 0 }, vn = { 0 }, ln = { 0 };
	struct figure fvr, fvn, fln;
	char name[32], accel[64] = "?", line[512];
	FILE *f;
	double t;

	if ((f = fopen(bench_tmp(dir, "node.err"), "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL)
			if (strstr(line, "VMs: ") != NULL)
				snprintf(accel, sizeof(accel), "%s",
				    strstr(line, ", KVM") ? "KVM" : "TCG");
		fclose(f);
	}
	for (int i = 0; i < VM_CREATES; i++) {
		snprintf(name, sizeof(name), "bench-vm-%02d", i);
		if ((t = create_ready(name, "qemu")) < 0)
			errx(1, "the qemu pod %s had an audit copy fault", name);
		series_add(&vr, t);
	}
	node_pod_named("bench-vm", "qemu");
	seconds = VM_SECONDS;
	for (int i = 0; i < ROUNDS; i++) {
		read_pod = "bench-vm";
		node_reads(1, &vn);
		read_pod = "bench";
		node_reads(1, &ln);
	}
	fvr = series_figure(&vr);
	fvn = series_figure(&vn);
	fln = series_figure(&ln);
	printf("qemu driver (%s), against the local driver, through the node\n",
	    accel);
	printf("qemu pod.create to first stat      median %7.1f ms  (%d "
	    "pods)  %5.1f x local\n", fvr.p50 * 1e3, VM_CREATES, fvr.p50 /
	    local_ready->p50);
	print_reads("local read 4 KiB, 1", &fln);
	print_reads("qemu  read 4 KiB, 1", &fvn);
	printf("  qemu/local: p50 %4.2f x, p99 %4.2f x, rps %4.2f x\n",
	    fvn.p50 / fln.p50, fvn.p99 / fln.p99, fvn.rps / fln.rps);
	printf("reference: Firecracker publishes a boot to init within 125 ms "
	    "on KVM\n");
}

/*
 * Reads through the node alone, depth at once, for PROFILE_SECONDS or
 * PROFILE_READS_MAX requests.  Not more: the node's nonce store is full
 * after some 15,000 requests (NODE_READS_MAX).
 */
static void
profile(const char *arg)
{
	struct series s = { 0 };
	struct figure f;
	char what[64];
	int depth = arg != NULL ? atoi(arg) : DEPTH;

	if (depth < 1 || depth > NODE_INFLIGHT)
		errx(1, "profile: depth 1 to %d", NODE_INFLIGHT);
	seconds = PROFILE_SECONDS;
	node_reads_max = PROFILE_READS_MAX;
	printf("node pid %d\n", (int)node_pid);
	fflush(stdout);
	node_reads(depth, &s);
	f = series_figure(&s);
	snprintf(what, sizeof(what), "node  read 4 KiB, %d", depth);
	print_reads(what, &f);
}

int
main(int argc, char **argv)
{
	struct series n1 = { 0 }, p1 = { 0 }, n16 = { 0 }, p16 = { 0 },
	    nc = { 0 }, pc = { 0 }, nr = { 0 }, pr = { 0 };
	struct figure fn1, fp1, fn16, fp16, fnc, fpc, fnr, fpr;
	char name[32];
	double t, sync;

	if (sodium_init() < 0)
		errx(1, "libsodium");
	if (geteuid() != 0)
		errx(1, "the node's local driver needs root");
	find_programs();
	if (mkdtemp(dir) == NULL)
		err(1, "mkdtemp");
	atexit(cleanup);
	signal(SIGPIPE, SIG_IGN);
	setup_dirs();
	start_daemons();
	node_pod();
	if (argc > 1 && strcmp(argv[1], "profile") == 0) {
		profile(argc > 2 ? argv[2] : NULL);
		return 0;
	}
	for (int i = 0; i < ROUNDS; i++) {
		reads(proxy_sock, 1, seconds, LAT_MAX, &p1);
		node_reads(1, &n1);
		reads(proxy_sock, DEPTH, seconds, LAT_MAX, &p16);
		node_reads(DEPTH, &n16);
		reads_clients(proxy_sock, CLIENTS, seconds, LAT_MAX, &pc);
		node_reads_clients(CLIENTS, &nc);
	}
	sync = fdatasync_median();
	for (int i = 0; i < CREATES; i++) {
		snprintf(name, sizeof(name), "bench-%02d", i);
		series_add(&pr, proxy_ready());
		while ((t = create_ready(name, "local")) < 0) {
			fault();
			snprintf(name, sizeof(name), "bench-%02d-%d", i, faults);
		}
		series_add(&nr, t);
	}
	fn1 = series_figure(&n1);
	fp1 = series_figure(&p1);
	fn16 = series_figure(&n16);
	fp16 = series_figure(&p16);
	fnc = series_figure(&nc);
	fpc = series_figure(&pc);
	fnr = series_figure(&nr);
	fpr = series_figure(&pr);
	report(&fn1, &fp1, &fn16, &fp16, &fnc, &fpc, &fnr, &fpr, sync);
	if (guest_dir[0] != '\0')
		vm_figures(&fnr);
	else
		printf("qemu driver: not measured (no guest image beside this "
		    "program, or no qemu-system-x86_64 on PATH: make guest)\n");
	return 0;
}
