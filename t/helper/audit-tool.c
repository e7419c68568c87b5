/*
 * audit-tool: a test helper that writes audit logs through libaudit, for
 * the shell tests, the crash test, the benchmarks and the fuzz seeds.  Not
 * installed.
 *
 *	audit-tool keygen KID SECRETFILE
 *	audit-tool cert ISSUERFILE LOGID SECRETFILE	(prints a key-cert)
 *	audit-tool append [-c CERTFILE] [-t THREADS] [-r BYTES] [-R COUNT]
 *	    LOG LOGID SECRETFILE N	(-r rotates past BYTES, -R rotates
 *					 COUNT times while appending)
 *	audit-tool bulk LOG LOGID SECRETFILE N		(no fsync: fast)
 *	audit-tool sign TYPE SECRETFILE		(signs the object on stdin)
 */
#include <err.h>
#include <pthread.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "xnum.h"

static struct audit_log *lg;
static long per_thread;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: audit-tool keygen KID SECRETFILE [ROLE]\n"
	    "       audit-tool cert ISSUERFILE LOGID SECRETFILE\n"
	    "       audit-tool append [-c CERTFILE] [-t THREADS] [-r BYTES] "
	    "[-R COUNT] LOG LOGID SECRETFILE N\n"
	    "       audit-tool bulk LOG LOGID SECRETFILE N\n"
	    "       audit-tool sign TYPE SECRETFILE\n");
	exit(2);
}

static struct audit_seckey *
key(const char *path)
{
	struct audit_seckey *k;
	struct audit_err e;

	if (audit_seckey_load(&k, path, &e) != 0)
		errx(2, "%s", e.msg);
	return k;
}

/* Each durable record: "SEQ HASH", written at once so a kill loses none. */
static void *
appender(void *arg)
{
	struct audit_err e;
	char hash[AUDIT_HEX_LEN + 1], out[128];
	uint64_t seq;

	for (long i = 0; i < per_thread; i++) {
		json_t *ev = json_pack("{s:s, s:I, s:I}", "event", "test",
		    "thread", (json_int_t)(intptr_t)arg, "i", (json_int_t)i);
		int n;

		if (audit_log_append_wait(lg, ev, &seq, hash, &e) != 0)
			errx(1, "%s", e.msg);
		json_decref(ev);
		n = snprintf(out, sizeof(out), "%llu %s\n",
		    (unsigned long long)seq, hash);
		if (write(STDOUT_FILENO, out, (size_t)n) != n)
			err(1, "stdout");
	}
	return NULL;
}

static int
cmd_append(int argc, char **argv)
{
	struct audit_seckey *k;
	struct audit_err e;
	json_t *cert = NULL;
	pthread_t th[64];
	long threads = 1, rotate_bytes = -1, rotations = 0;
	int ch;

	while ((ch = getopt(argc, argv, "c:r:R:t:")) != -1) {
		switch (ch) {
		case 'r':
			rotate_bytes = (long)xnum(optarg, 0, LONG_MAX);
			break;
		case 'R':
			rotations = (long)xnum(optarg, 0, 1000);
			break;
		case 'c':
			if ((cert = json_load_file(optarg, 0, NULL)) == NULL)
				errx(2, "%s: not JSON", optarg);
			break;
		case 't':
			threads = (long)xnum(optarg, 1, 64);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 4)
		usage();
	k = key(argv[optind + 2]);
	if (audit_log_open(&lg, argv[optind], argv[optind + 1], k, cert,
	    &e) != 0)
		errx(2, "%s", e.msg);
	if ((rotate_bytes >= 0 || rotations > 0) && audit_log_rotation(lg,
	    rotate_bytes > 0 ? rotate_bytes : 0, &e) != 0)
		errx(2, "%s", e.msg);
	per_thread = (long)xnum(argv[optind + 3], 0, LONG_MAX) / threads;
	for (long i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, appender, (void *)(intptr_t)i);
	for (long i = 0; i < rotations; i++)
		if (audit_log_rotate(lg, &e) != 0)
			errx(1, "%s", e.msg);
	for (long i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	if (audit_log_close(lg, &e) != 0)
		errx(1, "%s", e.msg);
	json_decref(cert);
	audit_seckey_free(k);
	return 0;
}

/* Write a valid log of n records as fast as possible, with no fsync. */
static int
cmd_bulk(int argc, char **argv)
{
	struct audit_tail t;
	struct audit_buf line = { 0 };
	struct audit_seckey *k;
	struct audit_err e;
	char b64[64];
	FILE *f;
	long n;

	if (argc != 5)
		usage();
	k = key(argv[3]);
	n = (long)xnum(argv[4], 0, LONG_MAX);
	if ((f = fopen(argv[1], "wx")) == NULL)
		err(2, "%s", argv[1]);
	memset(&t, 0, sizeof(t));
	snprintf(t.log, sizeof(t.log), "%s", argv[2]);
	audit_b64(b64, sizeof(b64), k->pk, AUDIT_PK_LEN);
	for (long i = 0; i < n; i++) {
		json_t *ev = i == 0 ? json_pack("{s:s, s:s}", "event",
		    "log.open", "pubkey", b64) : json_pack("{s:s, s:I, s:s}",
		    "event", "test", "i", (json_int_t)i, "subject",
		    "src/some/file/of/typical/length.c");

		if (audit_record(&t, k, ev, 1764400000000LL + i, &line,
		    &e) != 0)
			errx(2, "%s", e.msg);
		json_decref(ev);
		if (fwrite(line.p, 1, line.len, f) != line.len)
			err(2, "%s", argv[1]);
	}
	if (fclose(f) != 0)
		err(2, "%s", argv[1]);
	audit_buf_free(&line);
	audit_seckey_free(k);
	return 0;
}

static int
cmd_keygen(int argc, char **argv)
{
	struct audit_seckey *k;
	struct audit_err e;
	char line[256];

	if (argc != 3 && argc != 4)
		usage();
	if (audit_seckey_generate(&k, argv[1], &e) != 0 ||
	    audit_seckey_save(k, argv[2], &e) != 0)
		errx(2, "%s", e.msg);
	audit_keyring_line(k, argc == 4 ? argv[3] : "writer", line,
	    sizeof(line));
	printf("%s\n", line);
	audit_seckey_free(k);
	return 0;
}

static int
cmd_cert(int argc, char **argv)
{
	struct audit_seckey *issuer, *subject;
	struct audit_err e;
	json_t *c;
	char *s;

	if (argc != 4)
		usage();
	issuer = key(argv[1]);
	subject = key(argv[3]);
	if ((c = audit_key_cert(issuer, argv[2], subject->pk,
	    (int64_t)time(NULL), &e)) == NULL)
		errx(2, "%s", e.msg);
	s = json_dumps(c, JSON_COMPACT);
	printf("%s\n", s);
	free(s);
	json_decref(c);
	audit_seckey_free(issuer);
	audit_seckey_free(subject);
	return 0;
}

/* Sign the JSON object on stdin as TYPE; print it on one line. */
static int
cmd_sign(int argc, char **argv)
{
	struct audit_seckey *k;
	struct audit_err e;
	json_error_t jerr;
	json_t *o;
	char *s;

	if (argc != 3)
		usage();
	k = key(argv[2]);
	if ((o = json_loadf(stdin, 0, &jerr)) == NULL)
		errx(2, "stdin: %s", jerr.text);
	if (audit_sign(o, argv[1], k, &e) != 0)
		errx(2, "%s", e.msg);
	s = json_dumps(o, JSON_COMPACT);
	printf("%s\n", s);
	free(s);
	json_decref(o);
	audit_seckey_free(k);
	return 0;
}

int
main(int argc, char **argv)
{
	if (sodium_init() < 0)
		errx(2, "sodium_init");
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "append") == 0)
		return cmd_append(argc - 1, argv + 1);
	if (strcmp(argv[1], "bulk") == 0)
		return cmd_bulk(argc - 1, argv + 1);
	if (strcmp(argv[1], "keygen") == 0)
		return cmd_keygen(argc - 1, argv + 1);
	if (strcmp(argv[1], "cert") == 0)
		return cmd_cert(argc - 1, argv + 1);
	if (strcmp(argv[1], "sign") == 0)
		return cmd_sign(argc - 1, argv + 1);
	usage();
}
