/*
 * bench-authority: nucleus-authority granting by rule, request to token,
 * each grant durable (its LMDB state and its audit records) before it is
 * answered.  Approvals per second from 1 agent asking one at a time, from
 * 16 agents on 16 connections one at a time each, and from 16 agents
 * pipelining, each against a baseline measured in the same run on the
 * same disk: what one approval needs at the least, an Ed25519 verify (the
 * agent's signature), an Ed25519 sign (the token) and one write+fdatasync
 * of a 600-byte line.  The baseline does one approval at a time; the
 * authority commits in groups, many grants to one fdatasync, so a figure
 * with many requests in flight may pass it.  Figures, not a test:
 * nothing here fails on speed.
 *
 * The authority and the load generator are the ones built beside this
 * program: ../nucleus-authority and ../t/helper/approval-load.
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

#include "bench.h"

#define ROUNDS		5	/* each figure is taken in turns with the others,
				   so that drift on a shared machine hits all */
#define SECONDS		0.5	/* per figure per round, roughly */
#define AGENTS		16
#define LOAD_MIN	64	/* requests in one run of approval-load */
#define LOAD_MAX	10000
#define PER_HOUR	100000	/* each agent's rule: its cap (the most) */
#define RAW_SIGS	256
#define LINE_BYTES	600	/* a durable line of the baseline */

/*
 * A rule past its hourly cap leaves requests pending, and a client
 * asking one at a time would wait for a person: agent 1, which asks in
 * every figure, must stay under its cap over all the runs.
 */
_Static_assert((ROUNDS + 2) * (LOAD_MAX + 2 * (LOAD_MAX / AGENTS + 1)) <
    PER_HOUR, "the bench would reach the rules' hourly cap");

static char dir[] = "/tmp/nucleus-bench-authority-XXXXXX";
static char authority[PATH_MAX], loader[PATH_MAX];
static pid_t daemon_pid;

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), bench_cmp_double);
	return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* On every exit, errors too: no daemon left running, no files left. */
static void
cleanup(void)
{
	char cmd[PATH_MAX + 16];

	if (daemon_pid > 0) {
		kill(daemon_pid, SIGTERM);
		waitpid(daemon_pid, NULL, 0);
		daemon_pid = 0;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		warnx("could not remove %s", dir);
}

/* The programs under test, found beside this one. */
static void
find_programs(void)
{
	bench_beside("nucleus-authority", authority, sizeof(authority));
	bench_beside("t/helper/approval-load", loader, sizeof(loader));
}

/*
 * The authority's directory: its key, the keyring of AGENTS agents
 * (load-1 ...), and a rule for each that grants it a git push.
 */
static void
setup_dir(void)
{
	char ring[AGENTS * 160], rules[AGENTS * 200 + 32], kid[32], line[160];
	struct audit_seckey *k;
	struct audit_err e;

	if (mkdir(bench_tmp(dir, "auth"), 0700) != 0)
		err(1, "%s", bench_tmp(dir, "auth"));
	if (audit_seckey_generate(&k, "bench-authority", &e) != 0 ||
	    audit_seckey_save(k, bench_tmp(dir, "auth/authority.key"), &e) != 0)
		errx(1, "%s", e.msg);
	audit_seckey_free(k);
	ring[0] = '\0';
	snprintf(rules, sizeof(rules), "{\"v\":1,\"rules\":[");
	for (int i = 1; i <= AGENTS; i++) {
		snprintf(kid, sizeof(kid), "load-%d", i);
		snprintf(line, sizeof(line), "%s.key", kid);
		if (audit_seckey_generate(&k, kid, &e) != 0 ||
		    audit_seckey_save(k, bench_tmp(dir, line), &e) != 0)
			errx(1, "%s", e.msg);
		if (audit_keyring_line(k, "agent", line, sizeof(line)) != 0)
			errx(1, "keyring line");
		audit_seckey_free(k);
		strcat(ring, line);
		strcat(ring, "\n");
		snprintf(line, sizeof(line), "%s{\"name\":\"push-%d\",\"agent\":"
		    "\"%s\",\"pod\":\"p-*\",\"op\":\"run\",\"argv_prefix\":"
		    "[\"git\",\"push\"],\"max_per_hour\":%d}", i > 1 ? "," : "",
		    i, kid, PER_HOUR);
		strcat(rules, line);
	}
	strcat(rules, "]}\n");
	bench_put(bench_tmp(dir, "auth/keyring"), ring, 0600);
	bench_put(bench_tmp(dir, "auth/rules.json"), rules, 0600);
}

static void
start_authority(void)
{
	struct stat st;
	int fd;

	if ((daemon_pid = fork()) < 0)
		err(1, "fork");
	if (daemon_pid == 0) {
		fd = open(bench_tmp(dir, "authority.err"), O_WRONLY | O_CREAT | O_TRUNC,
		    0600);
		if (fd < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execl(authority, "nucleus-authority", "serve", "-d",
		    bench_tmp(dir, "auth"), (char *)NULL);
		warn("%s", authority);
		_exit(127);
	}
	for (int i = 0; i < 200 && stat(bench_tmp(dir, "auth/request.sock"), &st) != 0;
	    i++) {
		if (waitpid(daemon_pid, NULL, WNOHANG) == daemon_pid) {
			daemon_pid = 0;
			errx(1, "%s did not start: see %s", authority,
			    bench_tmp(dir, "authority.err"));
		}
		usleep(20000);
	}
	if (stat(bench_tmp(dir, "auth/request.sock"), &st) != 0)
		errx(1, "%s: no request socket", authority);
}

/* Read all of fd into buf, NUL-terminated. */
static void
slurp(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while (len < size - 1) {
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
}

/*
 * One run of approval-load: n requests from conns agents, one at a time
 * each or pipelined; its rate, once every request was granted.
 */
static double
load(int conns, int n, int pipelined)
{
	char out[1024], cs[16], ns[16], keys[AGENTS][PATH_MAX];
	char *argv[8 + AGENTS];
	int p[2], argc = 0, status;
	long sent, granted;
	const char *s;
	pid_t pid;

	snprintf(cs, sizeof(cs), "%d", conns);
	snprintf(ns, sizeof(ns), "%d", n);
	argv[argc++] = "approval-load";
	if (pipelined)
		argv[argc++] = "-p";
	argv[argc++] = "-c";
	argv[argc++] = cs;
	argv[argc++] = "-n";
	argv[argc++] = ns;
	argv[argc++] = (char *)bench_tmp(dir, "auth/request.sock");
	for (int i = 0; i < conns && i < AGENTS; i++) {
		snprintf(keys[i], sizeof(keys[i]), "%s/load-%d.key", dir, i + 1);
		argv[argc++] = keys[i];
	}
	argv[argc] = NULL;
	if (pipe(p) != 0 || (pid = fork()) < 0)
		err(1, "approval-load");
	if (pid == 0) {
		if (dup2(p[1], 1) < 0)
			_exit(127);
		close(p[0]);
		close(p[1]);
		execv(loader, argv);
		warn("%s", loader);
		_exit(127);
	}
	close(p[1]);
	slurp(p[0], out, sizeof(out));
	close(p[0]);
	if (waitpid(pid, &status, 0) != pid)
		err(1, "waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    sscanf(out, "sent=%ld answered=%*d granted=%ld", &sent,
	    &granted) != 2 || sent != n || granted != n ||
	    (s = strstr(out, " rate=")) == NULL)
		errx(1, "approval-load -c %d -n %d%s: not all granted: %s",
		    conns, n, pipelined ? " -p" : "", out);
	return strtod(s + 6, NULL);
}

/* Messages an agent signed, each with its own signature. */
static unsigned char raw_msg[RAW_SIGS][300], raw_sig[RAW_SIGS][64];
static unsigned char agent_pk[crypto_sign_PUBLICKEYBYTES];
static unsigned char token_sk[crypto_sign_SECRETKEYBYTES];

static void
baseline_setup(void)
{
	unsigned char agent_sk[crypto_sign_SECRETKEYBYTES];
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];

	crypto_sign_keypair(agent_pk, agent_sk);
	crypto_sign_keypair(pk, token_sk);
	for (int i = 0; i < RAW_SIGS; i++) {
		randombytes_buf(raw_msg[i], sizeof(raw_msg[i]));
		crypto_sign_detached(raw_sig[i], NULL, raw_msg[i],
		    sizeof(raw_msg[i]), agent_sk);
	}
	sodium_memzero(agent_sk, sizeof(agent_sk));
}

/* Verify, sign, write+fdatasync, in a loop: per second. */
static double
baseline(void)
{
	unsigned char token[400], sig[64];
	char line[LINE_BYTES];
	int fd = open(bench_tmp(dir, "base"), O_WRONLY | O_CREAT | O_APPEND, 0600);
	double t0 = bench_now(), t;
	long n = 0;

	if (fd < 0)
		err(1, "%s", bench_tmp(dir, "base"));
	memset(token, 't', sizeof(token));
	memset(line, 'x', sizeof(line));
	line[sizeof(line) - 1] = '\n';
	do {
		int i = (int)(n % RAW_SIGS);

		if (crypto_sign_verify_detached(raw_sig[i], raw_msg[i],
		    sizeof(raw_msg[i]), agent_pk) != 0)
			errx(1, "verify");
		token[0] = (unsigned char)n;
		crypto_sign_detached(sig, NULL, token, sizeof(token),
		    token_sk);
		memcpy(line, sig, 16);
		if (audit_writeall(fd, line, sizeof(line)) != 0 ||
		    fdatasync(fd) != 0)
			err(1, "fdatasync");
		n++;
	} while ((t = bench_now() - t0) < SECONDS);
	close(fd);
	return (double)n / t;
}

struct load {
	const char *name;
	int	 conns, pipelined;
	int	 n;		/* requests per run */
	double	 rate[ROUNDS];
};

/*
 * Requests for a run of about SECONDS, from two runs that warm up: a
 * short one's rate counts the connections' setup, the second's less.
 */
static void
calibrate(struct load *f)
{
	f->n = LOAD_MIN;
	for (int i = 0; i < 2; i++) {
		int n = (int)(load(f->conns, f->n, f->pipelined) * SECONDS);

		n = n < LOAD_MIN ? LOAD_MIN : n > LOAD_MAX ? LOAD_MAX : n;
		f->n = (n + AGENTS - 1) / AGENTS * AGENTS;
	}
}

int
main(void)
{
	struct load fig[] = {
		{ "1 agent, one at a time", 1, 0, 0, { 0 } },
		{ "16 agents, one at a time each", AGENTS, 0, 0, { 0 } },
		{ "16 agents, pipelined", AGENTS, 1, 0, { 0 } },
	};
	size_t nfig = sizeof(fig) / sizeof(fig[0]);
	double base[ROUNDS], b;

	if (sodium_init() < 0)
		errx(1, "libsodium");
	find_programs();
	if (mkdtemp(dir) == NULL)
		err(1, "mkdtemp");
	atexit(cleanup);
	signal(SIGPIPE, SIG_IGN);
	setup_dir();
	baseline_setup();
	start_authority();
	for (size_t i = 0; i < nfig; i++)
		calibrate(&fig[i]);
	for (int r = 0; r < ROUNDS; r++) {
		base[r] = baseline();
		for (size_t i = 0; i < nfig; i++)
			fig[i].rate[r] = load(fig[i].conns, fig[i].n,
			    fig[i].pipelined);
	}
	b = median(base, ROUNDS);
	printf("nucleus-authority, approvals granted by rule, request to "
	    "durable token (in %s; median of %d rounds)\n", dir, ROUNDS);
	printf("baseline: Ed25519 verify + sign + write+fdatasync of %d "
	    "bytes  %7.0f /s\n", LINE_BYTES, b);
	for (size_t i = 0; i < nfig; i++) {
		double m = median(fig[i].rate, ROUNDS);

		printf("%-31s %5d requests  %7.0f /s  %5.2f x baseline\n",
		    fig[i].name, fig[i].n, m, m / b);
	}
	return 0;
}
