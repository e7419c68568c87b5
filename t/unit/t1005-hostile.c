/*
 * Hostile logs: seeded byte flips, truncations, duplicated, swapped,
 * deleted and inserted lines, a 10 MiB line, deep nesting, invalid UTF-8.
 * The verifier must report a fault with a line number for each (but a
 * truncation at a line boundary, which only a state file can see), and
 * never crash.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "tap.h"

#define RECORDS	200
#define TRIALS	3000

static struct audit_keyring kr;
static char file[] = "/tmp/nucleus-t1005-XXXXXX";

/* A valid log in memory; *lines gets the offset of each line. */
static char *
make_log(struct audit_seckey *k, size_t *len, size_t *lines)
{
	struct audit_buf log = { 0 }, line = { 0 };
	struct audit_tail t;
	struct audit_err e;
	char b64[64];

	memset(&t, 0, sizeof(t));
	strcpy(t.log, "hostile");
	audit_b64(b64, sizeof(b64), k->pk, AUDIT_PK_LEN);
	for (long i = 0; i < RECORDS; i++) {
		json_t *ev = i == 0 ? json_pack("{s:s, s:s}", "event",
		    "log.open", "pubkey", b64) : json_pack("{s:s, s:I, s:s}",
		    "event", "test", "i", (json_int_t)i, "s",
		    "caf\xc3\xa9 \x7f tab\t");

		lines[i] = log.len;
		audit_record(&t, k, ev, 1764400000000LL + i, &line, &e);
		audit_buf_add(&log, line.p, line.len);
		json_decref(ev);
	}
	lines[RECORDS] = log.len;
	audit_buf_free(&line);
	*len = log.len;
	return log.p;
}

/* Verify bytes through a file, as the tool would. */
static int
check(const char *p, size_t n, struct audit_fault_info *fi, uint64_t *lines)
{
	struct audit_chain c;
	struct audit_err e;
	int fd = open(file, O_RDWR | O_TRUNC), rc;

	if (write(fd, p, n) != (ssize_t)n)
		return -2;
	lseek(fd, 0, SEEK_SET);
	audit_chain_init(&c, &kr);
	rc = audit_chain_stream(&c, fd, fi, &e);
	close(fd);
	*lines = c.lines;
	audit_chain_free(&c);
	return rc;
}

/* Copy the log with line a replaced by line b (b == RECORDS: dropped). */
static size_t
edit_lines(char *out, const char *log, const size_t *off, int op, size_t a,
    size_t b)
{
	size_t n = 0;

	for (size_t i = 0; i < RECORDS; i++) {
		size_t src = i;

		if (op == 0 && i == a)		/* delete line a */
			continue;
		if (op == 1 && i == a)		/* swap a and b */
			src = b;
		else if (op == 1 && i == b)
			src = a;
		memcpy(out + n, log + off[src], off[src + 1] - off[src]);
		n += off[src + 1] - off[src];
		if (op == 2 && i == a) {	/* duplicate line a */
			memcpy(out + n, log + off[a], off[a + 1] - off[a]);
			n += off[a + 1] - off[a];
		}
	}
	return n;
}

static void
mutations(uint64_t seed, const char *log, size_t len, const size_t *off)
{
	char *buf = malloc(len * 2 + 64);
	uint64_t r = seed, lines;
	struct audit_fault_info fi;
	long missed = -1, badline = -1, crashed = -1, truncs_ok = 0;

	for (long t = 0; t < TRIALS && missed < 0 && badline < 0; t++) {
		int kind = (int)rnd_below(&r, 5), rc, op, valid = 0;
		size_t n = len, a = rnd_below(&r, RECORDS),
		    b = rnd_below(&r, RECORDS);

		memcpy(buf, log, len);
		switch (kind) {
		case 0:		/* flip bits of one byte */
			buf[rnd_below(&r, len)] ^= (char)(1 + rnd_below(&r,
			    255));
			break;
		case 1:		/* truncate */
			n = rnd_below(&r, len);
			break;
		case 2:		/* delete, swap or duplicate lines */
			if (a == b)
				b = (a + 1) % RECORDS;
			op = (int)rnd_below(&r, 3);
			n = edit_lines(buf, log, off, op, a, b);
			/* Dropping the last line is a truncation too. */
			valid = op == 0 && a == RECORDS - 1;
			break;
		case 3: {	/* insert random bytes */
			size_t at = rnd_below(&r, len), k = 1 + rnd_below(&r,
			    16);

			memmove(buf + at + k, log + at, len - at);
			for (size_t i = 0; i < k; i++)
				buf[at + i] = (char)rnd(&r);
			n = len + k;
			break;
		}
		default:	/* a line made invalid UTF-8 */
			buf[off[a] + 10] = (char)0xff;
			break;
		}
		rc = check(buf, n, &fi, &lines);
		if (rc < 0) {
			crashed = t;
			break;
		}
		/* Only a cut at a line boundary leaves a valid log. */
		for (size_t i = 1; i <= RECORDS; i++)
			valid |= kind == 1 && off[i] == n;
		if (rc == 0) {
			if (!valid)
				missed = t;
			truncs_ok += valid;
			continue;
		}
		if (fi.fault == FAULT_NONE || fi.line < 1 ||
		    fi.line > lines + 1)
			badline = t;
	}
	ok(crashed < 0 && missed < 0, "%d mutations of a valid log: each "
	    "found (but %ld cuts at a line boundary, which are valid logs)",
	    TRIALS, truncs_ok);
	if (missed >= 0)
		diag("trial %ld was not noticed", missed);
	ok(badline < 0, "each fault names its line");
	free(buf);
}

static void
monsters(const char *log, const size_t *off)
{
	static const char overlong[] = "{\"s\":\"\xc0\xaf\"}\n";
	size_t first = off[1], big = 10 * 1024 * 1024, n;
	struct audit_fault_info fi;
	uint64_t lines;
	char *buf = malloc(first + big + 16);

	/* A valid first line, then a 10 MiB line. */
	memcpy(buf, log, first);
	memset(buf + first, 'a', big);
	buf[first + big] = '\n';
	ok(check(buf, first + big + 1, &fi, &lines) == 1 &&
	    fi.fault == FAULT_NONCANONICAL && fi.line == 2 &&
	    strstr(fi.detail, "longer than 1048576") != NULL,
	    "a 10 MiB line: fault 1 on line 2, read no further than the "
	    "limit");
	/* Deep nesting, on the first line (parsed) and later (scanned). */
	n = 0;
	buf[n++] = '{';
	memcpy(buf + n, "\"a\":", 4);
	n += 4;
	memset(buf + n, '[', 100000);
	n += 100000;
	memset(buf + n, ']', 100000);
	n += 100000;
	buf[n++] = '}';
	buf[n++] = '\n';
	ok(check(buf, n, &fi, &lines) == 1 && fi.fault == FAULT_NONCANONICAL &&
	    fi.line == 1, "100,000 levels of nesting on line 1: fault 1");
	memmove(buf + first, buf, n);
	memcpy(buf, log, first);
	ok(check(buf, first + n, &fi, &lines) == 1 &&
	    fi.fault == FAULT_NONCANONICAL && fi.line == 2,
	    "100,000 levels of nesting on line 2: fault 1");
	memcpy(buf, log, first);
	memcpy(buf + first, overlong, sizeof(overlong) - 1);
	ok(check(buf, first + sizeof(overlong) - 1, &fi, &lines) == 1 &&
	    fi.fault == FAULT_NONCANONICAL && fi.line == 2,
	    "an overlong UTF-8 form: fault 1");
	ok(check("", 0, &fi, &lines) == 1 && fi.fault == FAULT_TORN &&
	    fi.line == 1, "an empty log: fault 7 (no log.open)");
	ok(check("\n\n", 2, &fi, &lines) == 1 &&
	    fi.fault == FAULT_NONCANONICAL && fi.line == 1,
	    "an empty line: fault 1");
	free(buf);
}

int
main(void)
{
	uint64_t seed = tap_seed();
	struct audit_seckey *k;
	struct audit_err e;
	size_t off[RECORDS + 1], len;
	char ring[256], *log;
	int fd;

	if (sodium_init() < 0 || (fd = mkstemp(file)) < 0)
		return 1;
	close(fd);
	audit_seckey_generate(&k, "w", &e);
	audit_keyring_line(k, NULL, ring, sizeof(ring));
	audit_keyring_parse(&kr, ring, strlen(ring), 0, &e);
	log = make_log(k, &len, off);
	{
		struct audit_fault_info fi;
		uint64_t lines;

		ok(check(log, len, &fi, &lines) == 0 && lines == RECORDS,
		    "the log to mutate verifies: %d records", RECORDS);
	}
	mutations(seed, log, len, off);
	monsters(log, off);
	free(log);
	unlink(file);
	audit_keyring_free(&kr);
	audit_seckey_free(k);
	return done_testing();
}
