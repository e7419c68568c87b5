/*
 * Paths: lexical normalization, glob semantics, and the sensitive preset,
 * including the cases the reference implementation got wrong.
 */
#include <string.h>

#include "policy_int.h"
#include "tap.h"

static void
norm(const char *in, size_t len, const char *want, enum policy_kind wkind)
{
	char out[POLICY_PATH_MAX + 2];
	enum policy_kind kind;
	const char *why;
	int rc = policy_path_normalize(in, len, out, sizeof(out), &kind, &why);

	if (want != NULL)
		ok(rc == 0 && strcmp(out, want) == 0,
		    "normalize \"%.40s\" -> \"%s\"", in, want);
	else
		ok(rc == -1 && kind == wkind, "normalize \"%.40s\" refused: %s "
		    "(%s)", in, policy_kind_name(wkind), rc == -1 ? why : "ok");
}

static void
normalization(void)
{
	norm("src/a.c", 7, "src/a.c", KIND_NONE);
	norm("./src//a.c/", 11, "src/a.c", KIND_NONE);
	norm("a/b/../c", 8, "a/c", KIND_NONE);
	norm("a/./b/.", 7, "a/b", KIND_NONE);
	norm(".", 1, ".", KIND_NONE);
	norm("a/..", 4, ".", KIND_NONE);
	norm("..a/b..", 7, "..a/b..", KIND_NONE);
	norm("...", 3, "...", KIND_NONE);
	norm("/etc/passwd", 11, NULL, KIND_SANDBOX_ESCAPE);
	norm("//etc", 5, NULL, KIND_SANDBOX_ESCAPE);
	norm("..", 2, NULL, KIND_SANDBOX_ESCAPE);
	norm("../x", 4, NULL, KIND_SANDBOX_ESCAPE);
	norm("a/../../x", 9, NULL, KIND_SANDBOX_ESCAPE);
	norm("a/b/../../..", 12, NULL, KIND_SANDBOX_ESCAPE);
	norm("", 0, NULL, KIND_BAD_REQUEST);
	norm("a\0b", 3, NULL, KIND_BAD_REQUEST);
}

static void
normalization_limits(void)
{
	static char p[POLICY_PATH_MAX + 2];
	char out[POLICY_PATH_MAX + 2];
	enum policy_kind kind;
	const char *why;

	memset(p, 'a', sizeof(p));
	for (size_t i = 100; i < POLICY_PATH_MAX; i += 100)
		p[i] = '/';
	ok(policy_path_normalize(p, POLICY_PATH_MAX, out, sizeof(out), &kind,
	    &why) == 0, "a path of exactly 4096 bytes is accepted");
	ok(policy_path_normalize(p, POLICY_PATH_MAX + 1, out, sizeof(out),
	    &kind, &why) == -1 && kind == KIND_BAD_REQUEST,
	    "a path of 4097 bytes is bad_request");
}

struct gcase {
	const char *glob, *path;
	int whole, within;
};

static void
globs(void)
{
	static const struct gcase cases[] = {
		/* '*' and '?' never cross '/'. */
		{ "src/*.c", "src/a.c", 1, 1 },
		{ "src/*.c", "src/sub/a.c", 0, 0 },
		{ "src/?.c", "src/a.c", 1, 1 },
		{ "src/?.c", "src/ab.c", 0, 0 },
		{ "src/?.c", "src/\xc3\xa9.c", 1, 1 },	/* one character */
		{ "src/??.c", "src/\xc3\xa9.c", 0, 0 },
		{ "*", "a", 1, 1 },
		{ "*", "a/b", 1, 1 },		/* no '/': the last component */
		/* '**' is any number of whole components, zero too. */
		{ "**/secrets/**", "secrets", 1, 1 },
		{ "**/secrets/**", "secrets/a", 1, 1 },
		{ "**/secrets/**", "x/y/secrets/a/b", 1, 1 },
		{ "**/secrets/**", "x/secretsy/a", 0, 0 },
		{ "src/**", "src", 1, 1 },
		{ "src/**/a.c", "src/a.c", 1, 1 },
		{ "src/**/a.c", "src/x/y/a.c", 1, 1 },
		{ "src/**/a.c", "src/x/y/b.c", 0, 0 },
		{ "a/**/b/**/c", "a/x/b/y/b/z/c", 1, 1 },
		{ "a/**/b/**/c", "a/x/b/y/z", 0, 0 },
		/* A glob without '/' matches the last component anywhere. */
		{ "*.pem", "certs/key.pem", 1, 1 },
		{ "*.pem", "key.pem", 1, 1 },
		{ ".env*", "config/.env.local", 1, 1 },
		{ ".env*", "src/environment.c", 0, 0 },
		/* A glob with '/' is anchored at the root. */
		{ ".git/config", ".git/config", 1, 1 },
		{ ".git/config", "sub/.git/config", 0, 0 },
		/* within: what lies inside a match is inside it. */
		{ "*.pem", "dir.pem/notes.txt", 0, 1 },
		{ "build", "build/out/a.o", 0, 1 },
		{ "a/b", "a/b/c", 0, 1 },
		{ "a/b", "a", 0, 0 },
		/* The root has no components. */
		{ "*", ".", 0, 0 },
		{ "**", ".", 1, 1 },
		/* Leading dots are not special; bytes match themselves. */
		{ "*.key", ".key", 1, 1 },
		{ "a[b]", "a[b]", 1, 1 },
		{ "a\\*", "a\\x", 1, 1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct gcase *c = &cases[i];
		struct policy_glob g;
		const char *why;

		if (policy_glob_compile(&g, c->glob, strlen(c->glob), &why) !=
		    0) {
			ok(0, "compile %s: %s", c->glob, why);
			continue;
		}
		ok(policy_glob_match(&g, c->path, strlen(c->path)) == c->whole &&
		    policy_glob_match_within(&g, c->path, strlen(c->path)) ==
		    c->within, "glob \"%s\" %s \"%s\" (within: %s)", c->glob,
		    c->whole ? "matches" : "does not match", c->path,
		    c->within ? "yes" : "no");
		policy_glob_free(&g);
	}
}

static void
bad_globs(void)
{
	static const struct {
		const char *glob;
		size_t len;
		const char *why;
	} cases[] = {
		{ "", 0, "empty glob" },
		{ "/etc/*", 6, "absolute glob (globs are relative to the root)" },
		{ "a//b", 4, "empty component (a leading, doubled or trailing "
		    "'/')" },
		{ "a/", 2, "empty component (a leading, doubled or trailing "
		    "'/')" },
		{ "../x", 4, "'.' and '..' components are not allowed" },
		{ "a/./b", 5, "'.' and '..' components are not allowed" },
		{ "a**", 3, "'**' must be a whole component" },
		{ "x/**b/y", 7, "'**' must be a whole component" },
		{ "a\0b", 3, "glob contains a NUL byte" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct policy_glob g;
		const char *why = NULL;

		ok(policy_glob_compile(&g, cases[i].glob, cases[i].len, &why) ==
		    -1 && why != NULL && strcmp(why, cases[i].why) == 0,
		    "glob \"%s\" refused: %s", cases[i].glob, cases[i].why);
	}
}

/* The preset, and the reference's mistakes: *.pem, token*, missing files. */
static void
sensitive(void)
{
	static const char *const denied[] = {
		".env", ".env.local", "config/.env", ".ssh/id_rsa", "id_ed25519",
		"server.key", "private.pem", "certs/key.pem", ".aws/credentials",
		".git/config", ".npmrc", "token.txt", "password.txt",
		"home/u/.ssh/known_hosts", "a/secrets/b", "api.token",
		"credentials.json", ".pypirc", ".netrc",
	};
	static const char *const allowed[] = {
		"src/tokenizer.rs", "src/main.c", "README.md", "docs/keys.md",
		"src/environment.c", "secretsauce/a.c",
	};
	struct policy p;
	struct policy_state st = { 10, 0, 0 };
	struct policy_request rq;
	struct policy_decision d;

	if (policy_profile(&p, "filesystem_readonly", 0) != 0) {
		ok(0, "profile filesystem_readonly");
		return;
	}
	is_int((long long)p.paths.block.n, 25, "the sensitive preset has 25 "
	    "globs");
	memset(&rq, 0, sizeof(rq));
	rq.op = OP_READ;
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		rq.path = denied[i];
		rq.pathlen = strlen(denied[i]);
		policy_decide(&p, &st, &rq, &d);
		ok(d.verdict == VERDICT_DENY && d.kind == KIND_PATH_DENIED,
		    "sensitive: %s is path_denied (%s)", denied[i], d.reason);
	}
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		rq.path = allowed[i];
		rq.pathlen = strlen(allowed[i]);
		policy_decide(&p, &st, &rq, &d);
		ok(d.verdict == VERDICT_ALLOW, "sensitive: %s is allowed%s%s",
		    allowed[i], d.reason[0] ? ": " : "", d.reason);
	}
	policy_free(&p);
}

/* Normalization is idempotent, and never grows a path. */
static void
normalize_properties(uint64_t seed)
{
	static const char alphabet[] = "ab./";
	long bad = -1;

	for (long i = 0; i < 100000 && bad < 0; i++) {
		char in[24], out[32], again[32];
		enum policy_kind k;
		const char *why;
		uint64_t r = seed + (uint64_t)i;
		size_t n = 1 + rnd_below(&r, sizeof(in) - 1);

		for (size_t j = 0; j < n; j++)
			in[j] = alphabet[rnd_below(&r, 4)];
		if (policy_path_normalize(in, n, out, sizeof(out), &k, &why) != 0)
			continue;
		if (strlen(out) > n ||
		    policy_path_normalize(out, strlen(out), again, sizeof(again),
		    &k, &why) != 0 || strcmp(out, again) != 0 ||
		    strstr(out, "//") != NULL || out[0] == '/')
			bad = i;
	}
	ok(bad < 0, "normalization is idempotent and never grows a path");
	if (bad >= 0)
		diag("case %ld", bad);
}

int
main(void)
{
	uint64_t seed = tap_seed();

	normalization();
	normalization_limits();
	globs();
	bad_globs();
	sensitive();
	normalize_properties(seed);
	return done_testing();
}
