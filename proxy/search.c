/*
 * Searches: glob and grep, over a bounded walk of a directory tree that
 * never follows a symbolic link, skips what the policy hides, and stops
 * at a depth, a count of matches and a time limit.  They run on a search
 * worker (worker.c), off the event loop.
 *
 * The time limit holds whatever the pattern: a regular expression is
 * matched by PCRE2 with every item a callout (PCRE2_AUTO_CALLOUT) that
 * looks at the clock, so one match that would backtrack for ever stops
 * at the deadline, not after it; and with match and heap limits, so one
 * that needs more steps or memory than a line deserves stops too.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "proxy.h"
#include "fs.h"
#include "search.h"

static int
get_bool(struct fsop *o, const json_t *args, const char *name, int *out)
{
	const json_t *v = json_object_get(args, name);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v))
		return fs_fail(o, KIND_BAD_REQUEST, "args.%s: expected true or "
		    "false", name);
	*out = json_is_true(v);
	return 0;
}

/* A bounded walk of a directory tree, never following symbolic links. */
struct walk {
	struct fsop *o;
	int	(*visit)(struct walk *, int, const char *, const char *);
	int64_t	 deadline;	/* ms on the monotonic clock */
	size_t	 found, max;
	size_t	 bytes;		/* of paths and text found */
	int	 truncated;
	const char *stopped;	/* why the walk stopped early */
	void	*arg;
};

/* Milliseconds on a cheap monotonic clock (a few ms coarse). */
static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
deadline_set(struct walk *w, int seconds)
{
	w->deadline = now_ms() + (int64_t)seconds * 1000;
}

/* The walk stops here, and says why. */
static void
stop(struct walk *w, const char *why)
{
	w->truncated = 1;
	w->stopped = why;
}

/*
 * One more match of n bytes: 0, counted; -1 when the walk has all it may
 * return (a count, or SEARCH_BYTES_MAX bytes: what one search holds in
 * memory and sends is bounded whatever the paths' lengths).
 */
static int
take_match(struct walk *w, size_t n)
{
	if (w->found == w->max) {
		stop(w, "matches");
		return -1;
	}
	if (n > SEARCH_BYTES_MAX - w->bytes) {
		stop(w, "bytes");
		return -1;
	}
	w->found++;
	w->bytes += n;
	return 0;
}

/* Past the search's time limit: stop. */
static int
late(struct walk *w)
{
	if (now_ms() < w->deadline)
		return 0;
	stop(w, "time");
	return 1;
}

static int
walk_dir(struct walk *w, int dfd, const char *path, int depth)
{
	char child[2 * POLICY_PATH_MAX + 2];
	struct dirent *de;
	DIR *dir;
	int fd;

	if (depth > WALK_DEPTH_MAX)
		return 0;
	if ((fd = dup(dfd)) < 0 || (dir = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	rewinddir(dir);
	while ((de = readdir(dir)) != NULL && !w->truncated) {
		int sub;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (late(w))
			break;
		if (resolve_join(child, sizeof(child), path, de->d_name) != 0 ||
		    strlen(child) > POLICY_PATH_MAX ||
		    resolve_hidden(w->o->root, child))
			continue;
		if (w->visit(w, dirfd(dir), de->d_name, child) != 0)
			break;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		sub = openat(dirfd(dir), de->d_name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			continue;
		walk_dir(w, sub, child, depth + 1);
		close(sub);
	}
	closedir(dir);
	return 0;
}

static int
walk(struct walk *w, int seconds)
{
	char real[POLICY_PATH_MAX + 1];
	int fd;

	deadline_set(w, seconds);
	if ((fd = resolve_checked(w->o, O_RDONLY | O_DIRECTORY, real)) < 0)
		return -1;
	walk_dir(w, fd, real, 0);
	close(fd);
	return 0;
}

struct globber {
	struct policy_glob g;
	json_t	*matches;
	size_t	 baselen;	/* strip the base directory and its '/' */
};

static int
glob_visit(struct walk *w, int dfd, const char *name, const char *path)
{
	struct globber *gb = w->arg;
	const char *rel = path + gb->baselen;

	(void)dfd;
	(void)name;
	if (!policy_glob_match(&gb->g, rel, strlen(rel)))
		return 0;
	if (take_match(w, strlen(path)) != 0)
		return -1;
	json_array_append_new(gb->matches, json_string(path));
	return 0;
}

/* A search's result, and its outcome: how many it found; steals. */
static json_t *
result(const struct walk *w, json_t *matches)
{
	struct fsop *o = w->o;
	json_t *res;

	json_decref(o->r->outcome);
	o->r->outcome = json_pack("{s:I}", "matches", (json_int_t)w->found);
	res = json_pack("{s:o, s:b}", "matches", matches, "truncated",
	    w->truncated);
	if (w->stopped != NULL) {
		json_object_set_new(res, "stopped", json_string(w->stopped));
		json_object_set_new(o->r->outcome, "stopped",
		    json_string(w->stopped));
	}
	return res;
}

json_t *
search_glob(struct fsop *o, const json_t *args)
{
	const json_t *pv = json_object_get(args, "pattern");
	struct walk w = { o, glob_visit, 0, 0, GLOB_MAX, 0, 0, NULL, NULL };
	struct globber gb;
	const char *why;

	if (!json_is_string(pv))
		return fs_fail(o, KIND_BAD_REQUEST, "args.pattern: expected a "
		    "glob"), NULL;
	if (policy_glob_compile(&gb.g, json_string_value(pv),
	    json_string_length(pv), &why) != 0)
		return fs_fail(o, why != NULL && strstr(why, "'..'") != NULL ?
		    KIND_SANDBOX_ESCAPE : KIND_BAD_REQUEST, "args.pattern: %s",
		    why != NULL ? why : "out of memory"), NULL;
	gb.matches = json_array();
	gb.baselen = strcmp(o->norm, ".") == 0 ? 0 : o->normlen + 1;
	w.arg = &gb;
	if (walk(&w, o->cfg->lim.grep_seconds) != 0) {
		policy_glob_free(&gb.g);
		json_decref(gb.matches);
		return NULL;
	}
	policy_glob_free(&gb.g);
	return result(&w, gb.matches);
}

struct grepper {
	pcre2_code *re;		/* NULL for a fixed string */
	pcre2_match_data *md;
	pcre2_match_context *mc;
	const char *fixed;
	size_t	 fixedlen;
	int	 icase;
	json_t	*matches;
};

/* Text for JSON: invalid UTF-8 becomes U+FFFD, cut at 512 bytes. */
static json_t *
line_text(const char *p, size_t n)
{
	char out[512 * 3 + 4];
	size_t o = 0;

	for (size_t i = 0; i < n && o < 512; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x80) {
			out[o++] = c == 0 ? '?' : (char)c;
			continue;
		}
		out[o++] = (char)0xef;	/* U+FFFD for anything not ASCII */
		out[o++] = (char)0xbf;
		out[o++] = (char)0xbd;
	}
	return json_stringn(out, o);
}

/* Before each item of the expression: stop at the deadline. */
static int
callout(pcre2_callout_block *b, void *arg)
{
	const struct walk *w = arg;

	(void)b;
	return now_ms() < w->deadline ? 0 : PCRE2_ERROR_CALLOUT;
}

/*
 * Does the expression match the line?  -1 when it could not tell: the
 * deadline came, or the line needed more than the matcher's limits (the
 * walk stops, and says which).
 */
static int
re_matches(struct walk *w, struct grepper *g, const char *line, size_t n)
{
	int rc = pcre2_match(g->re, (PCRE2_SPTR)line, n, 0, 0, g->md, g->mc);

	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	stop(w, rc == PCRE2_ERROR_CALLOUT ? "time" : "regex");
	return -1;
}

/* 1 when the line matches, 0 when not, -1 when the walk must stop. */
static int
line_matches(struct walk *w, char *line, size_t n)
{
	struct grepper *g = w->arg;

	if (late(w))
		return -1;
	if (g->re != NULL)
		return re_matches(w, g, line, n);
	if (g->icase) {
		for (size_t i = 0; i + g->fixedlen <= n; i++)
			if (strncasecmp(line + i, g->fixed, g->fixedlen) == 0)
				return 1;
		return 0;
	}
	return memmem(line, n, g->fixed, g->fixedlen) != NULL;
}

/* A matching line: -1 when the walk already has all it may return. */
static int
grep_found(struct walk *w, const char *path, size_t lineno, const char *p,
    size_t len)
{
	struct grepper *g = w->arg;
	json_t *text = line_text(p, len);

	if (take_match(w, strlen(path) + json_string_length(text)) != 0) {
		json_decref(text);
		return -1;
	}
	json_array_append_new(g->matches, json_pack("{s:s, s:I, s:o}",
	    "path", path, "line", (json_int_t)lineno, "text", text));
	return 0;
}

/*
 * The lines of buf[0, have): each whole one, and the start of one longer
 * than GREP_LINE_MAX (its rest skipped).  Returns the bytes taken (a
 * line's start without its end waits for more), or -1 once the walk has
 * all the matches it may return.
 */
static ssize_t
grep_lines(struct walk *w, const char *path, char *buf, size_t have,
    size_t *lineno)
{
	char *p = buf, *end;

	for (;;) {
		char *nl = memchr(p, '\n', have - (size_t)(p - buf));
		size_t len;
		int m;

		if (nl == NULL && (size_t)(buf + have - p) < GREP_LINE_MAX)
			break;
		end = nl != NULL ? nl : p + GREP_LINE_MAX;
		len = (size_t)(end - p);
		if (len > GREP_LINE_MAX)
			len = GREP_LINE_MAX;	/* look at the start */
		(*lineno)++;
		if ((m = line_matches(w, p, len)) < 0 ||
		    (m && grep_found(w, path, *lineno, p, len) != 0))
			return -1;
		if (nl == NULL) {
			/* A line past the limit: skip its rest. */
			p = end;
			while (p < buf + have && *p != '\n')
				p++;
			if (p < buf + have)
				p++;
			break;
		}
		p = nl + 1;
	}
	return p - buf;
}

static int
grep_visit(struct walk *w, int dfd, const char *name, const char *path)
{
	char buf[65536 + GREP_LINE_MAX + 1];
	size_t have = 0, lineno = 0;
	struct stat st;
	ssize_t n;
	int fd, first = 1;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return 0;
	}
	while ((n = read(fd, buf + have, sizeof(buf) - 1 - have)) > 0) {
		ssize_t took;

		have += (size_t)n;
		/* Binary files (a NUL near the start) are skipped. */
		if (first && memchr(buf, '\0', have < 8192 ? have : 8192)) {
			break;
		}
		first = 0;
		if ((took = grep_lines(w, path, buf, have, &lineno)) < 0) {
			close(fd);
			return -1;
		}
		have -= (size_t)took;
		memmove(buf, buf + took, have);
	}
	close(fd);
	return 0;
}

/*
 * A regular expression, as PCRE2 compiles it: every item a callout (so
 * the clock is looked at while it matches), its case ignored if asked.
 */
static int
re_compile(struct fsop *o, struct grepper *g)
{
	PCRE2_UCHAR msg[128];
	PCRE2_SIZE at;
	int rc;

	g->re = pcre2_compile((PCRE2_SPTR)g->fixed, g->fixedlen,
	    PCRE2_AUTO_CALLOUT | (g->icase ? PCRE2_CASELESS : 0), &rc, &at,
	    NULL);
	if (g->re == NULL) {
		if (pcre2_get_error_message(rc, msg, sizeof(msg)) < 0)
			memcpy(msg, "not a regular expression", 25);
		return fs_fail(o, KIND_BAD_REQUEST, "args.pattern: %s at byte "
		    "%zu", (const char *)msg, (size_t)at);
	}
	g->md = pcre2_match_data_create(1, NULL);
	g->mc = pcre2_match_context_create(NULL);
	if (g->md == NULL || g->mc == NULL ||
	    pcre2_set_match_limit(g->mc, GREP_MATCH_LIMIT) != 0 ||
	    pcre2_set_depth_limit(g->mc, GREP_DEPTH_LIMIT) != 0 ||
	    pcre2_set_heap_limit(g->mc, GREP_HEAP_KIB) != 0)
		return fs_fail(o, KIND_NONE, "out of memory");
	return 0;
}

static void
grep_free(struct grepper *g)
{
	pcre2_match_context_free(g->mc);
	pcre2_match_data_free(g->md);
	pcre2_code_free(g->re);
}

/* The pattern of args, as g matches it. */
static int
grep_compile(struct fsop *o, const json_t *args, struct grepper *g)
{
	const json_t *pv = json_object_get(args, "pattern");
	int regex = 0, icase = 0;

	memset(g, 0, sizeof(*g));
	if (!json_is_string(pv) || json_string_length(pv) == 0 ||
	    json_string_length(pv) > GREP_LINE_MAX)
		return fs_fail(o, KIND_BAD_REQUEST, "args.pattern: expected 1 "
		    "to 4096 bytes");
	if (get_bool(o, args, "regex", &regex) != 0 ||
	    get_bool(o, args, "ignore_case", &icase) != 0)
		return -1;
	g->fixed = json_string_value(pv);
	g->fixedlen = json_string_length(pv);
	g->icase = icase;
	return regex ? re_compile(o, g) : 0;
}

/* A file is searched alone; a directory, all it holds. */
static int
grep_path(struct walk *w)
{
	struct fsop *o = w->o;
	char real[POLICY_PATH_MAX + 1];
	struct stat st;
	int fd, rc = 0;

	if ((fd = resolve_checked(o, O_PATH, real)) < 0)
		return -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		char *slash = strrchr(o->norm, '/');
		int dfd;

		deadline_set(w, o->cfg->lim.grep_seconds);
		if (slash != NULL)
			*slash = '\0';
		dfd = resolve_open(o->root, slash != NULL ? o->norm : ".",
		    O_RDONLY | O_DIRECTORY, 0);
		if (dfd >= 0) {
			grep_visit(w, dfd, slash != NULL ? slash + 1 :
			    o->norm, real);
			close(dfd);
		}
	} else
		rc = walk(w, o->cfg->lim.grep_seconds);
	close(fd);
	return rc;
}

json_t *
search_grep(struct fsop *o, const json_t *args)
{
	struct walk w = { o, grep_visit, 0, 0, 0, 0, 0, NULL, NULL };
	struct grepper g;
	int rc;

	if (grep_compile(o, args, &g) != 0) {
		grep_free(&g);
		return NULL;
	}
	if (g.mc != NULL)
		pcre2_set_callout(g.mc, callout, &w);
	g.matches = json_array();
	w.max = (size_t)o->cfg->lim.grep_matches;
	w.arg = &g;
	rc = grep_path(&w);
	grep_free(&g);
	if (rc != 0) {
		json_decref(g.matches);
		return NULL;
	}
	return result(&w, g.matches);
}
