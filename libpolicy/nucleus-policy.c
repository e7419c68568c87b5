/*
 * nucleus-policy: show, check and evaluate Nucleus policies from the
 * shell.  See nucleus-policy(1).
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "num.h"
#include "policy.h"
#include "usage.h"

#define EVAL_LINE_MAX	(1024 * 1024)	/* bytes in one eval input line */

/* Exit statuses, as every Nucleus tool has them. */
#define EXIT_OK		0
#define EXIT_NO		1	/* invalid policy, or a request refused */
#define EXIT_ERR	2	/* usage, I/O, or a bad input line */

static const char usage_text[] =
    "usage: nucleus-policy show [-c] [-t time] profile | file\n"
    "       nucleus-policy check file ...\n"
    "       nucleus-policy eval [-t time] profile | file\n"
    "       nucleus-policy profiles\n"
    "       nucleus-policy --help | --version\n";

static void __attribute__((noreturn))
usage(void)
{
	usage_fail(usage_text);
}

static int64_t
parse_time(const char *s)
{
	long long v;
	int rc;

	if ((rc = num_parse(s, 0, POLICY_TIME_MAX, &v)) != NUM_OK)
		errx(EXIT_ERR, "-t %s: %s: expected Unix seconds", s,
		    num_strerror(rc));
	return v;
}

/*
 * Read a file (or standard input for "-") into memory: all of it, or one
 * byte past POLICY_FILE_MAX, so that policy_load() refuses it for its
 * size.  Returns NULL with errno set on failure.
 */
static char *
read_file(const char *path, size_t *lenp)
{
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO :
	    open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	size_t len = 0, cap = 65536;
	char *buf = NULL, *nb;
	ssize_t n = 1;

	if (fd < 0)
		return NULL;
	while (n > 0 && len <= POLICY_FILE_MAX) {
		if (len == cap)
			cap *= 2;
		if ((nb = realloc(buf, cap)) == NULL)
			goto fail;
		buf = nb;
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			n = 1;
		else if (n < 0)
			goto fail;
		else
			len += (size_t)n;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	*lenp = len;
	return buf;
fail:
	if (fd != STDIN_FILENO) {
		int saved = errno;

		close(fd);
		errno = saved;
	}
	free(buf);
	return NULL;
}

static int
is_profile_name(const char *s)
{
	for (size_t i = 0; policy_profile_name(i) != NULL; i++)
		if (strcmp(s, policy_profile_name(i)) == 0)
			return 1;
	return 0;
}

static void
print_load_error(const char *file, const struct policy_error *e)
{
	if (e->line > 0)
		fprintf(stderr, "%s: line %d, column %d: %s\n", file, e->line,
		    e->column, e->message);
	else
		fprintf(stderr, "%s: %s: %s\n", file,
		    e->path[0] != '\0' ? e->path : "$", e->message);
}

/*
 * Load a profile (a name without '/') or a policy file.  Returns 0, 1
 * (the file is not a valid policy; said on stderr) or 2 (I/O).
 */
static int
load(const char *arg, int64_t now, struct policy *p)
{
	struct policy_error e;
	size_t len;
	char *buf;
	int rc;

	if (strchr(arg, '/') == NULL && is_profile_name(arg)) {
		if (policy_profile(p, arg, now) != 0)
			errx(EXIT_ERR, "%s: out of memory", arg);
		return EXIT_OK;
	}
	if ((buf = read_file(arg, &len)) == NULL) {
		warn("%s", arg);
		return EXIT_ERR;
	}
	rc = policy_load(p, buf, len, now, &e) == 0 ? EXIT_OK : EXIT_NO;
	if (rc != EXIT_OK)
		print_load_error(arg, &e);
	free(buf);
	return rc;
}

static int
cmd_show(int argc, char **argv)
{
	struct policy p;
	int64_t now = time(NULL);
	int ch, flags = POLICY_DUMP_PRETTY, rc;
	char *s;

	while ((ch = getopt(argc, argv, "ct:")) != -1) {
		switch (ch) {
		case 'c':
			flags &= ~POLICY_DUMP_PRETTY;
			break;
		case 't':
			now = parse_time(optarg);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1)
		usage();
	if ((rc = load(argv[optind], now, &p)) != EXIT_OK)
		return rc;
	if ((s = policy_dump(&p, flags)) == NULL)
		errx(EXIT_ERR, "out of memory");
	printf("%s\n", s);
	free(s);
	policy_free(&p);
	return EXIT_OK;
}

static int
cmd_check(int argc, char **argv)
{
	int rc = EXIT_OK;

	if (getopt(argc, argv, "") != -1 || optind >= argc)
		usage();
	for (int i = optind; i < argc; i++) {
		struct policy p;
		int r = load(argv[i], time(NULL), &p);

		if (r == EXIT_OK)
			policy_free(&p);
		if (r > rc)
			rc = r;
	}
	return rc;
}

static int
cmd_profiles(int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		usage();
	for (size_t i = 0; policy_profile_name(i) != NULL; i++)
		printf("%s\n", policy_profile_name(i));
	return EXIT_OK;
}

/* One eval input line, parsed; the strings point into the JSON tree. */
struct eval_op {
	struct policy_request rq;
	const char *argv[POLICY_ARGV_MAX + 1];
};

static int
bad(char *msg, size_t msgsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
bad(char *msg, size_t msgsz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, msgsz, fmt, ap);
	va_end(ap);
	return -1;
}

static int
eval_args(struct eval_op *e, json_t *args, char *msg, size_t msgsz)
{
	json_t *path = json_object_get(args, "path");
	json_t *argv = json_object_get(args, "argv");
	json_t *exists = json_object_get(args, "exists");

	if (path != NULL) {
		if (!json_is_string(path))
			return bad(msg, msgsz, "%s: expected a string",
			    "args.path");
		e->rq.path = json_string_value(path);
		e->rq.pathlen = json_string_length(path);
	} else if (e->rq.op == OP_GLOB || e->rq.op == OP_GREP) {
		e->rq.path = ".";
		e->rq.pathlen = 1;
	}
	if (exists != NULL) {
		if (!json_is_boolean(exists))
			return bad(msg, msgsz, "%s: expected true or false",
			    "args.exists");
		e->rq.exists = json_is_true(exists);
	}
	if (e->rq.op != OP_RUN)
		return 0;
	if (!json_is_array(argv))
		return bad(msg, msgsz, "%s: expected an array of strings",
		    "args.argv");
	if (json_array_size(argv) > POLICY_ARGV_MAX)
		return bad(msg, msgsz, "%s: more than 256 items", "args.argv");
	for (size_t i = 0; i < json_array_size(argv); i++) {
		json_t *a = json_array_get(argv, i);

		if (!json_is_string(a))
			return bad(msg, msgsz, "%s: expected an array of "
			    "strings", "args.argv");
		e->argv[i] = json_string_value(a);
	}
	e->rq.argv = e->argv;
	e->rq.argc = json_array_size(argv);
	return 0;
}

static int
eval_parse(json_t *j, struct eval_op *e, char *msg, size_t msgsz)
{
	const char *name;
	json_t *v, *args = NULL;

	memset(e, 0, sizeof(*e));
	if (!json_is_object(j))
		return bad(msg, msgsz, "%s", "expected a JSON object");
	json_object_foreach(j, name, v) {
		if (strcmp(name, "op") == 0) {
			if (!json_is_string(v) || policy_op_from_name(
			    json_string_value(v), &e->rq.op) != 0)
				return bad(msg, msgsz, "%s: unknown operation",
				    "op");
		} else if (strcmp(name, "args") == 0) {
			if (!json_is_object(v))
				return bad(msg, msgsz, "%s: expected an object",
				    "args");
			args = v;
		} else if (strcmp(name, "cost_microusd") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			    json_integer_value(v) > POLICY_MONEY_MAX)
				return bad(msg, msgsz, "%s: expected an integer "
				    "from 0 to 1000000000000", name);
			e->rq.cost = json_integer_value(v);
		} else
			return bad(msg, msgsz, "%s: unknown member", name);
	}
	if (json_object_get(j, "op") == NULL)
		return bad(msg, msgsz, "%s: missing", "op");
	if (args == NULL) {
		json_t *none = json_object();
		int rc;

		if (none == NULL)
			errx(EXIT_ERR, "out of memory");
		rc = eval_args(e, none, msg, msgsz);
		json_decref(none);
		return rc;
	}
	return eval_args(e, args, msg, msgsz);
}

static void
emit(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);

	if (s == NULL)
		errx(EXIT_ERR, "out of memory");
	printf("%s\n", s);
	free(s);
	json_decref(j);
}

static void
emit_error(const char *kind, unsigned long line, const char *msg)
{
	emit(json_pack("{s:s, s:I, s:s}", "error", kind, "line",
	    (json_int_t)line, "message", msg));
}

static void
emit_decision(const struct policy_decision *d)
{
	switch (d->verdict) {
	case VERDICT_ALLOW:
		emit(json_pack("{s:s}", "decision", "allow"));
		break;
	case VERDICT_DENY:
		emit(json_pack("{s:s, s:s, s:s}", "decision", "deny", "kind",
		    policy_kind_name(d->kind), "reason", d->reason));
		break;
	case VERDICT_APPROVAL:
		emit(json_pack("{s:s, s:s}", "decision", "approval_required",
		    "obligation", policy_cap_name(d->cap)));
		break;
	}
}

/*
 * Read one line of at most EVAL_LINE_MAX bytes into buf.  Returns its
 * length, -1 at the end of input, or -2 for an overlong line (then skipped
 * up to its newline).  *nul is set when the line holds a NUL byte.
 */
static ssize_t
read_line(FILE *f, char *buf, int *nul)
{
	size_t len = 0;
	int c, over = 0;

	*nul = 0;
	while ((c = getc_unlocked(f)) != EOF && c != '\n') {
		if (len == EVAL_LINE_MAX) {
			over = 1;
			continue;
		}
		if (c == '\0')
			*nul = 1;
		buf[len++] = (char)c;
	}
	if (c == EOF && len == 0 && !over)
		return -1;
	return over ? -2 : (ssize_t)len;
}

static int
eval_line(const struct policy *p, const struct policy_state *st,
    const char *line, size_t len, unsigned long lineno)
{
	struct policy_decision d;
	struct eval_op *e;
	json_error_t jerr;
	char msg[256];
	json_t *j;
	int rc;

	if (len == 0) {
		emit_error("bad_request", lineno, "empty line");
		return EXIT_ERR;
	}
	if ((j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		snprintf(msg, sizeof(msg), "column %d: %s", jerr.column,
		    jerr.text);
		emit_error("bad_request", lineno, msg);
		return EXIT_ERR;
	}
	if ((e = malloc(sizeof(*e))) == NULL)
		errx(EXIT_ERR, "out of memory");
	if (eval_parse(j, e, msg, sizeof(msg)) != 0) {
		emit_error("bad_request", lineno, msg);
		rc = EXIT_ERR;
	} else {
		policy_decide(p, st, &e->rq, &d);
		emit_decision(&d);
		rc = d.verdict == VERDICT_ALLOW ? EXIT_OK : EXIT_NO;
	}
	free(e);
	json_decref(j);
	return rc;
}

static int
cmd_eval(int argc, char **argv)
{
	struct policy p;
	struct policy_state st;
	unsigned long lineno = 0;
	int64_t now = time(NULL);
	int ch, rc, worst = EXIT_OK, nul;
	ssize_t len;
	char *line;

	while ((ch = getopt(argc, argv, "t:")) != -1) {
		switch (ch) {
		case 't':
			now = parse_time(optarg);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1)
		usage();
	if ((rc = load(argv[optind], now, &p)) != EXIT_OK)
		return rc == EXIT_NO ? EXIT_ERR : rc;
	st.now = now;
	st.consumed = p.budget.consumed;
	st.reserved = p.budget.reserved;
	if ((line = malloc(EVAL_LINE_MAX)) == NULL)
		err(EXIT_ERR, "malloc");
	while ((len = read_line(stdin, line, &nul)) != -1) {
		lineno++;
		if (len == -2) {
			emit_error("too_large", lineno, "line longer than "
			    "1048576 bytes");
			rc = EXIT_ERR;
		} else if (nul) {
			emit_error("bad_request", lineno, "line holds a NUL "
			    "byte");
			rc = EXIT_ERR;
		} else
			rc = eval_line(&p, &st, line, (size_t)len, lineno);
		if (rc > worst)
			worst = rc;
		fflush(stdout);
	}
	if (ferror(stdin))
		err(EXIT_ERR, "standard input");
	free(line);
	policy_free(&p);
	return worst;
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int	(*fn)(int, char **);
	} cmds[] = {
		{ "show", cmd_show },
		{ "check", cmd_check },
		{ "eval", cmd_eval },
		{ "profiles", cmd_profiles },
	};

	usage_std(argc, argv, "nucleus-policy", usage_text);
	if (argc < 2)
		usage();
	usage_std(argc - 1, argv + 1, "nucleus-policy", usage_text);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0) {
			usage_command(argv + 1, "nucleus-policy");
			return cmds[i].fn(argc - 1, argv + 1);
		}
	usage_unknown("nucleus-policy", argv[1], usage_text);
}
