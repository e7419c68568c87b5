/*
 * Crash safety: a writer killed with SIGKILL at random moments while it
 * appends, 100 seeded trials, each on a log the previous trial left
 * (so that each kill also lands on a reopened log).  Every record whose append was
 * reported durable before the kill must be in the file; the file may end
 * in a torn line and nothing else; after reopening (which cuts the torn
 * line and writes a log.resume) the log verifies.  Every third trial also
 * leaves a torn write behind, as a power cut would.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit.h"
#include "tap.h"

#define TRIALS	100

static char dir[] = "/tmp/nucleus-t1004-XXXXXX";
static char logpath[600];
static struct audit_seckey *key;
static struct audit_keyring kr;
static struct audit_log *child_log;
static int report_fd;

static void *
child_appender(void *arg)
{
	struct audit_err e;
	char buf[32];
	uint64_t seq;

	(void)arg;
	for (long i = 0;; i++) {
		json_t *j = json_pack("{s:s, s:I}", "event", "crash", "i",
		    (json_int_t)i);
		int n;

		if (audit_log_append_wait(child_log, j, &seq, NULL, &e) != 0)
			_exit(3);
		json_decref(j);
		/* One write(2) below PIPE_BUF: whole or not at all. */
		n = snprintf(buf, sizeof(buf), "%llu\n",
		    (unsigned long long)seq);
		if (write(report_fd, buf, (size_t)n) != n)
			_exit(4);
	}
	return NULL;
}

static void __attribute__((noreturn))
child(int threads)
{
	struct audit_err e;
	pthread_t th[4];

	if (audit_log_open(&child_log, logpath, "crash", key, NULL, &e) != 0)
		_exit(2);
	for (int i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, child_appender, NULL);
	for (;;)
		pause();
}

/* The highest seq the child reported durable, or -1. */
static long long
read_reports(int fd)
{
	char buf[65536], *p, *nl;
	long long best = -1;
	size_t have = 0;
	ssize_t n;

	while ((n = read(fd, buf + have, sizeof(buf) - 1 - have)) > 0) {
		have += (size_t)n;
		buf[have] = '\0';
		for (p = buf; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
			long long s = strtoll(p, NULL, 10);

			if (s > best)
				best = s;
		}
		have -= (size_t)(p - buf);
		memmove(buf, p, have);
	}
	return best;
}

static long
verify(struct audit_fault_info *fi, uint64_t *lines)
{
	struct audit_chain c;
	struct audit_err e;
	int fd = open(logpath, O_RDONLY), rc;

	audit_chain_init(&c, &kr);
	rc = audit_chain_stream(&c, fd, fi, &e);
	close(fd);
	*lines = c.lines;
	audit_chain_free(&c);
	return rc;
}

/* Append a prefix of a plausible record, as a write cut short would. */
static size_t
tear(uint64_t *r)
{
	static const char rec[] = "{\"event\":\"crash\",\"i\":12345,\"kid\":"
	    "\"w1\",\"log\":\"crash\",\"prev\":\"00000000\"";
	size_t n = 1 + (size_t)rnd_below(r, sizeof(rec) - 2);
	int fd = open(logpath, O_WRONLY | O_APPEND);

	if (write(fd, rec, n) != (ssize_t)n)
		n = 0;
	close(fd);
	return n;
}

int
main(void)
{
	uint64_t seed = tap_seed(), r = seed, lines;
	struct audit_fault_info fi;
	struct audit_log *l;
	struct audit_err e;
	int lost = 0, badtail = 0, unrecovered = 0, torn_seen = 0;
	char ring[256], cmd[700];
	long long total_durable = 0;

	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		return 1;
	audit_seckey_generate(&key, "w1", &e);
	audit_keyring_line(key, NULL, ring, sizeof(ring));
	audit_keyring_parse(&kr, ring, strlen(ring), 0, &e);
	for (int t = 0; t < TRIALS; t++) {
		int p[2], status;
		pid_t pid;
		long long durable;
		size_t torn = 0;
		long rc;

		/* A log of two trials' history, then a fresh one. */
		snprintf(logpath, sizeof(logpath), "%s/crash-%d.log", dir,
		    t / 2);
		if (pipe(p) != 0)
			return 1;
		if ((pid = fork()) == 0) {
			close(p[0]);
			report_fd = p[1];
			child(1 + (int)rnd_below(&r, 4));
		}
		close(p[1]);
		/*
		 * Every other trial kills only once a first record is durable
		 * (poll does not take the report from the pipe), so that on a
		 * loaded machine, where the child may take longer than the
		 * delay to open its log, half the kills still land while
		 * records are being made; the others may land anywhere, the
		 * opening of the log included.
		 */
		if (t % 2 == 0) {
			struct pollfd pfd = { .fd = p[0], .events = POLLIN };

			(void)poll(&pfd, 1, 10000);
		}
		usleep((useconds_t)(2000 + rnd_below(&r, 30000)));
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		durable = read_reports(p[0]);
		close(p[0]);
		total_durable += durable >= 0;
		rc = verify(&fi, &lines);
		/* Clean, or a torn last line: nothing else. */
		if (rc != 0 && !(fi.fault == FAULT_TORN && fi.line == lines + 1))
			badtail++;
		torn_seen += rc != 0;
		if (durable >= 0 && (uint64_t)durable >= lines)
			lost++;
		if (t % 3 == 2 && rc == 0)
			torn = tear(&r);
		if (audit_log_open(&l, logpath, "crash", key, NULL, &e) != 0 ||
		    (rc == 0 && audit_log_dropped(l) != torn))
			unrecovered++;
		audit_log_close(l, &e);
		if (verify(&fi, &lines) != 0)
			unrecovered++;
		if (lost || badtail || unrecovered) {
			diag("trial %d: durable %lld, lines %llu, fault %d at "
			    "%llu: %s", t, durable, (unsigned long long)lines,
			    fi.fault, (unsigned long long)fi.line, fi.detail);
			break;
		}
	}
	ok(lost == 0, "%d kills: every record reported durable was in the "
	    "file", TRIALS);
	ok(badtail == 0, "the file ended cleanly or in one torn line (%d "
	    "torn by the kill)", torn_seen);
	ok(unrecovered == 0, "after each reopen the log verified, torn lines "
	    "cut and counted");
	ok(total_durable >= TRIALS / 2, "the kills landed while records were "
	    "being made durable (%lld of %d trials)", total_durable, TRIALS);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	audit_keyring_free(&kr);
	audit_seckey_free(key);
	return done_testing();
}
