/*
 * The audit log writer: creation, appends, group commit under 16 threads,
 * completions, reopening (log.resume, torn lines), refusals, the queue
 * limit, and a disk that fills up, then has room again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "tap.h"

static char dir[] = "/tmp/nucleus-t1003-XXXXXX";
static struct audit_seckey *key, *other;
static struct audit_keyring kr;

static const char *
path(const char *name)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

/* Verify a log file; returns its record count, or -1 (fi filled). */
static long
verify(const char *file, struct audit_fault_info *fi)
{
	struct audit_chain c;
	struct audit_err e;
	int fd = open(file, O_RDONLY), rc;
	long n;

	audit_chain_init(&c, &kr);
	rc = audit_chain_stream(&c, fd, fi, &e);
	close(fd);
	n = rc == 0 ? (long)c.lines : -1;
	audit_chain_free(&c);
	return n;
}

/* The n-th line (1-based) of a file, into buf. */
static int
nth_line(const char *file, long n, char *buf, size_t sz)
{
	FILE *f = fopen(file, "r");
	int ok_ = 0;

	for (long i = 1; f != NULL && fgets(buf, (int)sz, f) != NULL; i++)
		if (i == n) {
			ok_ = 1;
			break;
		}
	if (f != NULL)
		fclose(f);
	return ok_;
}

static json_t *
ev(long i)
{
	return json_pack("{s:s, s:I}", "event", "test", "i", (json_int_t)i);
}

static int
append(struct audit_log *l, long i, uint64_t *seq, char *hash)
{
	struct audit_err e;
	json_t *j = ev(i);
	int rc = audit_log_append_wait(l, j, seq, hash, &e);

	json_decref(j);
	return rc;
}

static void
basics(void)
{
	struct audit_fault_info fi;
	struct audit_log *l, *l2;
	struct audit_err e;
	char hash[AUDIT_HEX_LEN + 1], line[4096];
	uint8_t h[AUDIT_HASH_LEN];
	uint64_t seq;
	json_t *j;
	int good = 1;

	ok(audit_log_open(&l, path("a.log"), "pod-a", key, NULL, &e) == 0,
	    "a new log opens");
	ok(verify(path("a.log"), &fi) == 1 && audit_log_durable(l) == 1,
	    "it holds its log.open, durable");
	for (long i = 1; i <= 10; i++)
		good &= append(l, i, &seq, hash) == 0 && seq == (uint64_t)i;
	ok(good, "ten appends get seq 1 to 10");
	if (nth_line(path("a.log"), 11, line, sizeof(line))) {
		audit_hash(h, line, strlen(line) - 1);
		audit_hex(line, h, AUDIT_HASH_LEN);
	}
	ok(strcmp(line, hash) == 0, "the hash given back is the hash of the "
	    "line written");
	j = json_pack("{s:s, s:i}", "event", "x", "seq", 5);
	ok(audit_log_submit(l, j, NULL, NULL, &e) == -1 &&
	    strstr(e.msg, "may not set") != NULL,
	    "an event setting seq is refused at once");
	json_decref(j);
	j = json_pack("{s:i}", "i", 5);
	ok(audit_log_submit(l, j, NULL, NULL, &e) == -1,
	    "an event without a name is refused at once");
	json_decref(j);
	j = json_pack("{s:s, s:f}", "event", "x", "f", 1.5);
	ok(audit_log_append_wait(l, j, &seq, NULL, &e) == -1 &&
	    strstr(e.msg, "CJSON") != NULL, "an event CJSON cannot hold "
	    "fails alone: %s", e.msg);
	json_decref(j);
	ok(append(l, 11, &seq, NULL) == 0 && seq == 11,
	    "and takes no seq: the next record is seq 11");
	ok(audit_log_open(&l2, path("a.log"), "pod-a", key, NULL, &e) == -1 &&
	    strstr(e.msg, "another process is writing this log") != NULL,
	    "a second writer is refused");
	ok(audit_log_close(l, &e) == 0, "close");
	ok(verify(path("a.log"), &fi) == 12, "the log verifies: 12 records");
}

static void
reopen(void)
{
	struct audit_fault_info fi;
	struct audit_log *l;
	struct audit_err e;
	char line[4096];
	uint64_t seq;
	FILE *f;

	ok(audit_log_open(&l, path("a.log"), "pod-a", key, NULL, &e) == 0 &&
	    audit_log_dropped(l) == 0, "reopen: nothing dropped");
	ok(nth_line(path("a.log"), 13, line, sizeof(line)) &&
	    strstr(line, "\"dropped_bytes\":0,\"event\":\"log.resume\"") &&
	    strstr(line, "\"seq\":12,"), "a log.resume follows, seq 12");
	ok(append(l, 12, &seq, NULL) == 0 && seq == 13, "appends go on");
	audit_log_close(l, &e);

	/* A write that never became durable: a line without its newline. */
	f = fopen(path("a.log"), "a");
	fputs("{\"event\":\"test\",\"i\":99,\"kid\":\"w", f);
	fclose(f);
	ok(verify(path("a.log"), &fi) == -1 && fi.fault == FAULT_TORN &&
	    fi.line == 15, "the torn line is fault 7 on line 15");
	ok(audit_log_open(&l, path("a.log"), "pod-a", key, NULL, &e) == 0 &&
	    audit_log_dropped(l) == 31, "reopen cuts it: 31 bytes dropped");
	audit_log_close(l, &e);
	ok(nth_line(path("a.log"), 15, line, sizeof(line)) &&
	    strstr(line, "\"dropped_bytes\":31,\"event\":\"log.resume\""),
	    "and says so in its log.resume");
	ok(verify(path("a.log"), &fi) == 15, "the log verifies again");

	ok(audit_log_open(&l, path("a.log"), "pod-a", other, NULL, &e) == -1 &&
	    strstr(e.msg, "a new key writes a new log") != NULL,
	    "another key cannot append to it");
	ok(audit_log_open(&l, path("a.log"), "pod-b", key, NULL, &e) == -1 &&
	    strstr(e.msg, "another log") != NULL,
	    "nor can another log id");

	/* Only a torn first line: the log starts again. */
	f = fopen(path("torn1.log"), "w");
	fputs("{\"cert\":", f);
	fclose(f);
	ok(audit_log_open(&l, path("torn1.log"), "pod-t", key, NULL,
	    &e) == 0 && audit_log_dropped(l) == 8, "a log that is only a "
	    "torn first line starts again");
	audit_log_close(l, &e);
	ok(verify(path("torn1.log"), &fi) == 2 &&
	    nth_line(path("torn1.log"), 2, line, sizeof(line)) &&
	    strstr(line, "\"dropped_bytes\":8"), "log.open, then a log.resume "
	    "saying 8 bytes were dropped");

	/* A damaged last record: refuse, do not guess. */
	f = fopen(path("a.log"), "r+");
	fseek(f, -20, SEEK_END);
	fputc('#', f);
	fclose(f);
	ok(audit_log_open(&l, path("a.log"), "pod-a", key, NULL, &e) == -1 &&
	    strstr(e.msg, "nucleus-audit-verify") != NULL,
	    "a damaged last record: the writer refuses (%s)", e.msg);
}

static struct audit_log *shared;
static long per_thread = 200;

static void *
writer_thread(void *arg)
{
	uint64_t seq, *seqs = arg;

	for (long i = 0; i < per_thread; i++) {
		if (append(shared, i, &seq, NULL) != 0)
			return NULL;
		seqs[i] = seq;
	}
	return NULL;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
concurrency(void)
{
	struct audit_fault_info fi;
	struct audit_err e;
	pthread_t th[16];
	uint64_t *seqs = calloc(16 * (size_t)per_thread, sizeof(*seqs));
	int distinct = 1;
	long total = 16 * per_thread;

	audit_log_open(&shared, path("c.log"), "pod-c", key, NULL, &e);
	for (int i = 0; i < 16; i++)
		pthread_create(&th[i], NULL, writer_thread, seqs + i *
		    per_thread);
	for (int i = 0; i < 16; i++)
		pthread_join(th[i], NULL);
	qsort(seqs, (size_t)total, sizeof(*seqs), cmp_u64);
	for (long i = 0; i < total; i++)
		distinct &= seqs[i] == (uint64_t)i + 1;
	ok(distinct, "16 threads, 3200 appends: seq 1 to 3200, each once");
	ok(audit_log_syncs(shared) < (uint64_t)total / 2,
	    "group commit: %llu syncs for %ld records",
	    (unsigned long long)audit_log_syncs(shared), total);
	audit_log_close(shared, &e);
	ok(verify(path("c.log"), &fi) == total + 1, "the log verifies");
	free(seqs);
}

static size_t max_inflight;
static long completed, in_order = 1;
static uint64_t last_seq;

static void
done(void *arg, int error, uint64_t seq, const char *hash)
{
	size_t n = audit_log_inflight(arg);

	if (n > max_inflight)
		max_inflight = n;
	if (error != 0 || hash == NULL || (completed > 0 && seq != last_seq + 1))
		in_order = 0;
	last_seq = seq;
	completed++;
}

/* More submissions than AUDIT_QUEUE_MAX: the submitter waits for room. */
static void
queue_limit(void)
{
	struct audit_fault_info fi;
	struct audit_log *l;
	struct audit_err e;
	long n = AUDIT_QUEUE_MAX + 5000;
	json_t *j = ev(0);

	audit_log_open(&l, path("q.log"), "pod-q", key, NULL, &e);
	for (long i = 0; i < n; i++)
		if (audit_log_submit(l, j, done, l, &e) != 0)
			break;
	audit_log_close(l, &e);
	json_decref(j);
	ok(completed == n && in_order, "%ld submissions, each completed "
	    "once, in seq order", n);
	ok(max_inflight <= AUDIT_QUEUE_MAX && max_inflight >
	    AUDIT_QUEUE_MAX / 2, "never more than %d in flight (at most %zu "
	    "seen)", AUDIT_QUEUE_MAX, max_inflight);
	ok(verify(path("q.log"), &fi) == n + 1, "the log verifies");
}

/* A disk that fills: the log stops, and nothing unsynced is reported. */
static void
disk_full(void)
{
	struct audit_fault_info fi;
	struct audit_log *l;
	struct audit_err e;
	char mnt[600], file[700];
	static char pad[16384];
	uint64_t seq, durable = 0;
	long ok_appends = 0, n;
	int rc = 0, fd;

	if (getuid() != 0) {
		skip("disk full: needs root to mount a small tmpfs");
		skip("disk full: needs root");
		skip("disk full: needs root");
		skip("disk full: needs root");
		skip("disk full: needs root");
		skip("disk full: needs root");
		return;
	}
	snprintf(mnt, sizeof(mnt), "%s/full", dir);
	mkdir(mnt, 0700);
	if (unshare(CLONE_NEWNS) != 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount("tmpfs", mnt, "tmpfs", 0, "size=64k") != 0) {
		skip("disk full: cannot mount a tmpfs here");
		skip("disk full: cannot mount a tmpfs");
		skip("disk full: cannot mount a tmpfs");
		skip("disk full: cannot mount a tmpfs");
		skip("disk full: cannot mount a tmpfs");
		skip("disk full: cannot mount a tmpfs");
		return;
	}
	snprintf(file, sizeof(file), "%s/filler", mnt);
	if ((fd = open(file, O_WRONLY | O_CREAT, 0600)) < 0 ||
	    write(fd, pad, sizeof(pad)) != (ssize_t)sizeof(pad))
		diag("no filler: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	snprintf(file, sizeof(file), "%s/f.log", mnt);
	audit_log_open(&l, file, "pod-f", key, NULL, &e);
	for (long i = 0; i < 100000 && rc == 0; i++) {
		json_t *j = json_pack("{s:s, s:s%}", "event", "big", "pad",
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 100);

		if ((rc = audit_log_append_wait(l, j, &seq, NULL, &e)) == 0) {
			ok_appends++;
			durable = seq + 1;
		}
		json_decref(j);
	}
	ok(rc != 0 && strstr(e.msg, "No space left") != NULL,
	    "a full disk stops the log: %s", e.msg);
	ok(append(l, 0, &seq, NULL) != 0 && audit_log_durable(l) == durable,
	    "later appends fail; nothing more is durable");
	n = verify(file, &fi);
	ok((n == (long)durable) || (n == -1 && fi.fault == FAULT_TORN &&
	    fi.line == durable + 1), "every record reported durable (%llu) "
	    "is in the file, and nothing after it but a torn line",
	    (unsigned long long)durable);
	/* Space returns: the log is taken up on the file it has open. */
	snprintf(file, sizeof(file), "%s/filler", mnt);
	unlink(file);
	snprintf(file, sizeof(file), "%s/f.log", mnt);
	ok(audit_log_resume(l, &e) == 0 && append(l, 1, &seq, NULL) == 0 &&
	    seq == durable + 1, "space returned, the log is taken up again "
	    "without an open: log.resume is seq %llu", (unsigned long long)
	    durable);
	ok(audit_log_resume(l, &e) == 0, "taking up a log that runs does "
	    "nothing");
	audit_log_close(l, &e);
	ok(verify(file, &fi) == (long)durable + 2, "the log verifies: the "
	    "torn line cut, then log.resume and the next record");
	umount(mnt);
}

int
main(void)
{
	struct audit_err e;
	char ring[256], cmd[600];

	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		return 1;
	audit_seckey_generate(&key, "w1", &e);
	audit_seckey_generate(&other, "w1", &e);
	audit_keyring_line(key, NULL, ring, sizeof(ring));
	audit_keyring_parse(&kr, ring, strlen(ring), 0, &e);
	basics();
	reopen();
	concurrency();
	queue_limit();
	disk_full();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	audit_keyring_free(&kr);
	audit_seckey_free(key);
	audit_seckey_free(other);
	return done_testing();
}
