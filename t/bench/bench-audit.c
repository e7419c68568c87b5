/*
 * bench-audit: durable appends per second with one writer and with 16
 * concurrent writers (group commit), against the raw write+fdatasync rate
 * of the same disk; and log verification in records per second, against
 * the raw Ed25519 verify rate, all measured in the same run.  Figures,
 * not a test: nothing here fails on speed.
 */
#include <err.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"

#include "bench.h"

#define SECONDS		1.0
#define WRITERS		16
#define VERIFY_RECORDS	20000

static struct audit_log *lg;
static volatile int stop;
static char dir[] = "/tmp/nucleus-bench-XXXXXX";

/* What the disk does: one small write and one fdatasync, in a loop. */
static double
raw_fdatasync(void)
{
	char rec[300];
	int fd = open(bench_tmp(dir, "raw"), O_WRONLY | O_CREAT | O_APPEND, 0600);
	double t0 = bench_now(), t;
	long n = 0;

	memset(rec, 'x', sizeof(rec));
	rec[sizeof(rec) - 1] = '\n';
	do {
		if (write(fd, rec, sizeof(rec)) != sizeof(rec) ||
		    fdatasync(fd) != 0)
			err(1, "raw");
		n++;
	} while ((t = bench_now() - t0) < SECONDS);
	close(fd);
	return (double)n / t;
}

static void *
appender(void *arg)
{
	long *count = arg;
	struct audit_err e;
	uint64_t seq;
	json_t *ev = json_pack("{s:s, s:s, s:s}", "event", "decision", "op",
	    "read", "subject", "src/some/file/of/typical/length.c");

	while (!stop) {
		if (audit_log_append_wait(lg, ev, &seq, NULL, &e) != 0)
			errx(1, "%s", e.msg);
		(*count)++;
	}
	json_decref(ev);
	return NULL;
}

static double
durable_rate(struct audit_seckey *k, int writers, const char *name,
    double *per_sync)
{
	pthread_t th[WRITERS];
	long counts[WRITERS] = { 0 }, total = 0;
	struct audit_err e;
	uint64_t syncs0;
	double t0, t;

	if (audit_log_open(&lg, bench_tmp(dir, name), "bench", k, NULL, &e) != 0)
		errx(1, "%s", e.msg);
	syncs0 = audit_log_syncs(lg);
	stop = 0;
	t0 = bench_now();
	for (int i = 0; i < writers; i++)
		pthread_create(&th[i], NULL, appender, &counts[i]);
	usleep((useconds_t)(SECONDS * 1e6));
	stop = 1;
	for (int i = 0; i < writers; i++) {
		pthread_join(th[i], NULL);
		total += counts[i];
	}
	t = bench_now() - t0;
	*per_sync = (double)total / (double)(audit_log_syncs(lg) - syncs0);
	if (audit_log_close(lg, &e) != 0)
		errx(1, "%s", e.msg);
	return (double)total / t;
}

/*
 * Writers as an event loop has them: each writer's next record is
 * submitted from the completion of its last, with no thread per writer.
 */
static json_t *async_ev;
static long async_count;
static int async_live;
static pthread_mutex_t async_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t async_cv = PTHREAD_COND_INITIALIZER;

static void
async_done(void *arg, int error, uint64_t seq, const char *hash)
{
	struct audit_err e;

	(void)arg;
	(void)seq;
	(void)hash;
	if (error != 0)
		errx(1, "append: %d", error);
	pthread_mutex_lock(&async_mu);
	async_count++;
	if (stop) {
		async_live--;
		pthread_cond_signal(&async_cv);
		pthread_mutex_unlock(&async_mu);
		return;
	}
	pthread_mutex_unlock(&async_mu);
	if (audit_log_submit(lg, async_ev, async_done, NULL, &e) != 0)
		errx(1, "%s", e.msg);
}

static double
async_rate(struct audit_seckey *k, int writers, const char *name,
    double *per_sync)
{
	struct audit_err e;
	uint64_t syncs0;
	double t0, t;

	async_ev = json_pack("{s:s, s:s, s:s}", "event", "decision", "op",
	    "read", "subject", "src/some/file/of/typical/length.c");
	if (audit_log_open(&lg, bench_tmp(dir, name), "bench", k, NULL, &e) != 0)
		errx(1, "%s", e.msg);
	syncs0 = audit_log_syncs(lg);
	stop = 0;
	async_count = 0;
	async_live = writers;
	t0 = bench_now();
	for (int i = 0; i < writers; i++)
		if (audit_log_submit(lg, async_ev, async_done, NULL, &e) != 0)
			errx(1, "%s", e.msg);
	usleep((useconds_t)(SECONDS * 1e6));
	pthread_mutex_lock(&async_mu);
	stop = 1;
	while (async_live > 0)
		pthread_cond_wait(&async_cv, &async_mu);
	pthread_mutex_unlock(&async_mu);
	t = bench_now() - t0;
	*per_sync = (double)async_count /
	    (double)(audit_log_syncs(lg) - syncs0);
	if (audit_log_close(lg, &e) != 0)
		errx(1, "%s", e.msg);
	json_decref(async_ev);
	return (double)async_count / t;
}

/*
 * Ed25519 verifications per second of record-sized messages, each with
 * its own signature: the verify is variable-time, and checking one
 * signature again and again would flatter it.
 */
#define RAW_SIGS	512
static unsigned char raw_msg[RAW_SIGS][300], raw_sig[RAW_SIGS][64];

static double
raw_verify(struct audit_seckey *k)
{
	static int made;
	double t0, t;
	long n = 0;

	for (; made < RAW_SIGS; made++) {
		randombytes_buf(raw_msg[made], sizeof(raw_msg[made]));
		crypto_sign_detached(raw_sig[made], NULL, raw_msg[made],
		    sizeof(raw_msg[made]), k->sk);
	}
	t0 = bench_now();
	do {
		for (int i = 0; i < RAW_SIGS; i++)
			if (crypto_sign_verify_detached(raw_sig[i], raw_msg[i],
			    sizeof(raw_msg[i]), k->pk) != 0)
				errx(1, "verify");
		n += RAW_SIGS;
	} while ((t = bench_now() - t0) < SECONDS / 4);
	return (double)n / t;
}

/* Ed25519 signatures per second: the chain's serial step. */
static double
raw_sign(struct audit_seckey *k)
{
	unsigned char msg[300], sig[64];
	double t0 = bench_now(), t;
	long n = 0;

	memset(msg, 'm', sizeof(msg));
	do {
		for (int i = 0; i < 64; i++)
			crypto_sign_detached(sig, NULL, msg, sizeof(msg),
			    k->sk);
		n += 64;
	} while ((t = bench_now() - t0) < SECONDS / 2);
	return (double)n / t;
}

/*
 * Records verified per second, and raw verifications per second, each the
 * best of five rounds taken in turn, so that both see the same machine.
 */
static double
verify_rate(struct audit_seckey *k, double *bytes_per_record, double *raw)
{
	struct audit_keyring kr;
	struct audit_chain c;
	struct audit_fault_info fi;
	struct audit_tail tail;
	struct audit_buf line = { 0 };
	struct audit_err e;
	char ringline[256], b64[64];
	double t0, t, best = 0, r;
	FILE *f = fopen(bench_tmp(dir, "verify"), "w");
	int fd;

	memset(&tail, 0, sizeof(tail));
	strcpy(tail.log, "bench");
	audit_b64(b64, sizeof(b64), k->pk, AUDIT_PK_LEN);
	for (long i = 0; i < VERIFY_RECORDS; i++) {
		json_t *ev = i == 0 ? json_pack("{s:s, s:s}", "event",
		    "log.open", "pubkey", b64) : json_pack("{s:s, s:s, s:s, "
		    "s:s, s:s}", "event", "decision", "op", "read", "subject",
		    "src/some/file/of/typical/length.c", "actor", "agent-7",
		    "decision", "allow");

		if (audit_record(&tail, k, ev, 1764400000000LL + i, &line,
		    &e) != 0)
			errx(1, "%s", e.msg);
		fwrite(line.p, 1, line.len, f);
		json_decref(ev);
	}
	*bytes_per_record = (double)ftell(f) / VERIFY_RECORDS;
	fclose(f);
	audit_keyring_line(k, NULL, ringline, sizeof(ringline));
	if (audit_keyring_parse(&kr, ringline, strlen(ringline), 0, &e) != 0)
		errx(1, "%s", e.msg);
	*raw = 0;
	for (int round = 0; round < 5; round++) {
		if ((r = raw_verify(k)) > *raw)
			*raw = r;
		fd = open(bench_tmp(dir, "verify"), O_RDONLY);
		audit_chain_init(&c, &kr);
		t0 = bench_now();
		if (audit_chain_stream(&c, fd, &fi, &e) != 0)
			errx(1, "verify: %s %s", fi.detail, e.msg);
		t = bench_now() - t0;
		close(fd);
		audit_chain_free(&c);
		if (VERIFY_RECORDS / t > best)
			best = VERIFY_RECORDS / t;
	}
	audit_buf_free(&line);
	audit_keyring_free(&kr);
	return best;
}

int
main(void)
{
	struct audit_seckey *k;
	struct audit_err e;
	double raw, one, many, ps1, ps16, rv, rs, v, bpr;
	char cmd[600];

	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		errx(1, "setup");
	if (audit_seckey_generate(&k, "bench", &e) != 0)
		errx(1, "%s", e.msg);
	printf("audit log (in %s; %.0f s per figure)\n", dir, SECONDS);
	raw = raw_fdatasync();
	printf("raw write+fdatasync            %9.0f /s\n", raw);
	one = durable_rate(k, 1, "one", &ps1);
	many = durable_rate(k, WRITERS, "many", &ps16);
	printf("threads, each append_wait():\n");
	printf("  durable appends, 1 writer    %9.0f /s  %5.2f x raw  "
	    "(%.1f records per sync)\n", one, one / raw, ps1);
	printf("  durable appends, %d writers  %9.0f /s  %5.2f x raw  "
	    "%5.2f x 1 writer  (%.1f records per sync)\n", WRITERS, many,
	    many / raw, many / one, ps16);
	one = async_rate(k, 1, "aone", &ps1);
	many = async_rate(k, WRITERS, "amany", &ps16);
	printf("event-loop style, audit_log_submit() from completions:\n");
	printf("  durable appends, 1 writer    %9.0f /s  %5.2f x raw  "
	    "(%.1f records per sync)\n", one, one / raw, ps1);
	printf("  durable appends, %d writers  %9.0f /s  %5.2f x raw  "
	    "%5.2f x 1 writer  (%.1f records per sync)\n", WRITERS, many,
	    many / raw, many / one, ps16);
	rs = raw_sign(k);
	printf("raw Ed25519 sign (serial step) %9.0f /s: 16 writers reach "
	    "%.0f%% of it\n", rs, 100 * many / rs);
	v = verify_rate(k, &bpr, &rv);
	printf("raw Ed25519 verify             %9.0f /s\n", rv);
	printf("log verification               %9.0f records/s  %5.1f%% of "
	    "raw verify  (%.0f bytes per record)\n", v, 100 * v / rv, bpr);
	audit_seckey_free(k);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		warnx("could not remove %s", dir);
	return 0;
}
