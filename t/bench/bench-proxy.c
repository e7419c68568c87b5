/*
 * bench-proxy: nucleus-proxy over a Unix socket, with its durable audit
 * log: a read of a 4 KiB file at concurrency 1 and 16 (median and p99
 * latency, requests per second), and a run of true(1).  Concurrency 16 is
 * 16 requests in flight on one connection, as the node sends them for
 * the agents of a pod.  Each against a
 * baseline measured in the same run on the same disk: a read against one
 * write+fdatasync plus one Unix socket round trip, a run against
 * fork+exec+wait of true plus two write+fdatasync (its decision and
 * outcome records).  Figures, not a test: nothing here fails on speed.
 *
 * The proxy is the one built beside this program (../nucleus-proxy).
 * "bench-proxy profile" runs only the reads 16 at once, for 10 s, to give
 * perf(1) something to look at.
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
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

#include <sodium.h>

#include "bench.h"

#define ROUNDS		5	/* each figure is taken in turns with the others,
				   so that drift on a shared machine hits all */
#define SECONDS		0.4	/* per read figure per round */
#define DEPTH		16	/* requests in flight */
#define RUNS		60	/* per round */
#define LAT_MAX		400000	/* latencies kept per client */

static char dir[] = "/tmp/nucleus-bench-proxy-XXXXXX";
static double seconds = SECONDS;

static char sock_path[PATH_MAX];
static volatile int stop;

/* A client connection with a line reader. */
struct client {
	int	 fd;
	char	 buf[65536];
	size_t	 len, off;
	long	 id;
};

static void
dial(struct client *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(sock_path) >= sizeof(sa.sun_path))
		errx(1, "%s: too long for a socket", sock_path);
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		err(1, "%s", sock_path);
	c->len = c->off = 0;
}

/* Send request number id of c: op with args (JSON text). */
static void
send_req(struct client *c, long id, const char *op, const char *args)
{
	char req[1024];
	int n = snprintf(req, sizeof(req), "{\"type\":\"request\",\"v\":1,"
	    "\"id\":\"%ld\",\"kid\":\"bench\",\"ts\":1,\"nonce\":"
	    "\"00000000000000000000000000000000\","
	    "\"pod\":\"bench\",\"op\":\"%s\",\"args\":%s,\"sig\":\"\"}\n",
	    id, op, args);

	if (write(c->fd, req, (size_t)n) != n)
		err(1, "send");
}

/* The next response line of c: its id, or -1 if it was not ok. */
static long
next_response(struct client *c)
{
	char *nl, *p;

	for (;;) {
		if ((nl = memchr(c->buf + c->off, '\n', c->len - c->off))) {
			long id = -1;

			*nl = '\0';
			p = strstr(c->buf + c->off, "\"id\":\"");
			if (p != NULL && strstr(c->buf + c->off, "\"ok\":true"))
				id = strtol(p + 6, NULL, 10);
			else
				warnx("%s", c->buf + c->off);
			c->off = (size_t)(nl - c->buf) + 1;
			return id;
		}
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
		if (c->len == sizeof(c->buf))
			errx(1, "response too long");
		ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (r <= 0)
			errx(1, "the proxy closed the connection");
		c->len += (size_t)r;
	}
}

/* Send one request and wait for its response; 0 if it was ok. */
static int
call(struct client *c, const char *op, const char *args)
{
	send_req(c, c->id++, op, args);
	return next_response(c) < 0 ? -1 : 0;
}

/*
 * Reads of the 4 KiB file with depth requests in flight on one
 * connection, for `seconds'.
 */
static void
reads(int depth, struct series *out)
{
	static double sent[LAT_MAX];
	struct client c = { 0 };
	double t0, end;
	long next = 0, inflight = 0;

	dial(&c);
	call(&c, "stat", "{\"path\":\"4k.txt\"}");	/* warm */
	c.id = 0;
	t0 = bench_now();
	end = t0 + seconds;
	for (; inflight < depth; inflight++) {
		sent[next] = bench_now();
		send_req(&c, next++, "read", "{\"path\":\"4k.txt\"}");
	}
	while (inflight > 0) {
		long id = next_response(&c);
		double t = bench_now();

		if (id < 0 || id >= next)
			errx(1, "a read failed");
		series_add(out, t - sent[id]);
		inflight--;
		if (t < end && next < LAT_MAX) {
			sent[next] = bench_now();
			send_req(&c, next++, "read", "{\"path\":\"4k.txt\"}");
			inflight++;
		}
	}
	out->elapsed += bench_now() - t0;
	close(c.fd);
}

static void
runs(struct series *out)
{
	struct client c = { 0 };
	double t0;

	dial(&c);
	for (int i = 0; i < RUNS; i++) {
		t0 = bench_now();
		if (call(&c, "run", "{\"argv\":[\"true\"]}") != 0)
			errx(1, "a run failed");
		series_add(out, bench_now() - t0);
		out->elapsed += bench_now() - t0;
	}
	close(c.fd);
}

/* Baselines. */
static void
sync_once(int fd)
{
	char rec[400];

	memset(rec, 'x', sizeof(rec));
	rec[sizeof(rec) - 1] = '\n';
	if (write(fd, rec, sizeof(rec)) != sizeof(rec) || fdatasync(fd) != 0)
		err(1, "fdatasync");
}

static void *
echo(void *arg)
{
	int fd = *(int *)arg;
	char b[512];
	ssize_t n;

	while ((n = read(fd, b, sizeof(b))) > 0)
		if (write(fd, b, (size_t)n) != n)
			break;
	return NULL;
}

/* One write+fdatasync and one Unix socket round trip of a small line. */
static void
base_read(struct series *out)
{
	int sv[2], fd = open(bench_tmp(dir, "base"), O_WRONLY | O_CREAT | O_APPEND, 0600);
	char line[300], back[300];
	pthread_t t;
	double t0, end;

	if (fd < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		err(1, "baseline");
	memset(line, 'r', sizeof(line));
	pthread_create(&t, NULL, echo, &sv[1]);
	end = bench_now() + seconds;
	while (bench_now() < end) {
		size_t got = 0;

		t0 = bench_now();
		sync_once(fd);
		if (write(sv[0], line, sizeof(line)) != sizeof(line))
			err(1, "echo");
		while (got < sizeof(back)) {
			ssize_t r = read(sv[0], back + got, sizeof(back) - got);
			if (r <= 0)
				err(1, "echo");
			got += (size_t)r;
		}
		series_add(out, bench_now() - t0);
		out->elapsed += bench_now() - t0;
	}
	close(sv[0]);
	pthread_join(t, NULL);
	close(sv[1]);
	close(fd);
}

/* fork+exec+wait of true, and two write+fdatasync. */
static void
base_run(struct series *out)
{
	int fd = open(bench_tmp(dir, "base"), O_WRONLY | O_CREAT | O_APPEND, 0600);
	double t0;

	for (int i = 0; i < RUNS; i++) {
		pid_t pid;

		t0 = bench_now();
		sync_once(fd);
		if ((pid = fork()) == 0) {
			execl("/usr/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		waitpid(pid, NULL, 0);
		sync_once(fd);
		series_add(out, bench_now() - t0);
		out->elapsed += bench_now() - t0;
	}
	close(fd);
}

static pid_t
start_proxy(const char *self)
{
	char proxy[PATH_MAX], pod[2 * PATH_MAX + 512];
	char key[64], line[128];
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	struct stat st;
	pid_t pid;

	(void)self;
	bench_beside("nucleus-proxy", proxy, sizeof(proxy));
	mkdir(bench_tmp(dir, "root"), 0755);
	mkdir(bench_tmp(dir, "state"), 0700);
	crypto_sign_keypair(pk, sk);
	sodium_bin2base64(key, sizeof(key), pk, sizeof(pk),
	    sodium_base64_VARIANT_ORIGINAL);
	snprintf(line, sizeof(line), "authority-1 ed25519 %s\n", key);
	bench_put(bench_tmp(dir, "trust"), line, 0600);
	{
		char data[4097];

		memset(data, 'a', 4096);
		for (int i = 80; i < 4096; i += 81)
			data[i] = '\n';
		data[4096] = '\0';
		bench_put(bench_tmp(dir, "root/4k.txt"), data, 0644);
	}
	snprintf(pod, sizeof(pod), "{\"v\":1,\"pod\":\"bench\",\"policy\":"
	    "\"local_dev\",\"root\":\"%s\",\"state\":\"%s\",\"trust\":\"%s\","
	    "\"costs\":{\"base_microusd\":0,\"run_second_microusd\":0}}\n",
	    bench_tmp(dir, "root"), bench_tmp(dir, "state"), bench_tmp(dir, "trust"));
	bench_put(bench_tmp(dir, "pod.json"), pod, 0600);
	snprintf(sock_path, sizeof(sock_path), "%s", bench_tmp(dir, "sock"));
	if ((pid = fork()) == 0) {
		execl(proxy, "nucleus-proxy", "-p", bench_tmp(dir, "pod.json"), "-l",
		    sock_path, (char *)NULL);
		err(127, "%s", proxy);
	}
	for (int i = 0; i < 200 && stat(sock_path, &st) != 0; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			errx(1, "%s did not start", proxy);
		usleep(20000);
	}
	if (stat(sock_path, &st) != 0)
		errx(1, "%s: no socket", proxy);
	return pid;
}

int
main(int argc, char **argv)
{
	struct series sb_read = { 0 }, s1 = { 0 }, s16 = { 0 }, sb_run = { 0 },
	    srun = { 0 };
	struct figure r1, r16, run, b_read, b_run;
	char cmd[PATH_MAX + 16];
	pid_t pid;

	if (sodium_init() < 0)
		errx(1, "libsodium");
	if (mkdtemp(dir) == NULL)
		err(1, "mkdtemp");
	signal(SIGPIPE, SIG_IGN);
	pid = start_proxy(argv[0]);
	if (argc > 1 && strcmp(argv[1], "profile") == 0) {
		seconds = 10;
		printf("proxy pid %d\n", (int)pid);
		fflush(stdout);
		reads(DEPTH, &s16);
		r16 = series_figure(&s16);
		printf("read 4 KiB, %d at once  %7.0f /s\n", DEPTH, r16.rps);
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		return 0;
	}
	for (int i = 0; i < ROUNDS; i++) {
		base_read(&sb_read);
		reads(1, &s1);
		reads(DEPTH, &s16);
		base_run(&sb_run);
		runs(&srun);
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	b_read = series_figure(&sb_read);
	r1 = series_figure(&s1);
	r16 = series_figure(&s16);
	b_run = series_figure(&sb_run);
	run = series_figure(&srun);

	printf("nucleus-proxy over a Unix socket, durable audit (in %s; %d "
	    "rounds)\n", dir, ROUNDS);
	printf("baseline: write+fdatasync + socket round trip  p50 %7.1f us\n",
	    b_read.p50 * 1e6);
	printf("read 4 KiB, 1 at once   p50 %7.1f us  p99 %7.1f us  %7.0f /s"
	    "  p50 %4.2f x baseline\n", r1.p50 * 1e6, r1.p99 * 1e6, r1.rps,
	    r1.p50 / b_read.p50);
	printf("read 4 KiB, %d at once  p50 %7.1f us  p99 %7.1f us  %7.0f /s"
	    "  %4.2f x 1 at once\n", DEPTH, r16.p50 * 1e6, r16.p99 * 1e6,
	    r16.rps, r16.rps / r1.rps);
	printf("baseline: fork+exec+wait true + 2 fdatasync    p50 %7.1f us\n",
	    b_run.p50 * 1e6);
	printf("run true                p50 %7.1f us  p99 %7.1f us  %7.0f /s"
	    "  p50 %4.2f x baseline\n", run.p50 * 1e6, run.p99 * 1e6, run.rps,
	    run.p50 / b_run.p50);
	free(sb_read.v);
	free(s1.v);
	free(s16.v);
	free(sb_run.v);
	free(srun.v);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		warnx("could not remove %s", dir);
	return 0;
}
