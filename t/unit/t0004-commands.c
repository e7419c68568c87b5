/*
 * Commands: argv rules (block over allow, prefix patterns, option specs),
 * classification, the baseline blocks, and the command sets' conformance
 * cases.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy_int.h"
#include "tap.h"

#define MAXARGS	16

/*
 * Split a space-separated command line for the test (no quoting; a '+'
 * stands for a space inside one argument).
 */
static size_t
split(char *buf, const char *line, const char **argv)
{
	size_t n = 0;
	char *save = NULL;

	strcpy(buf, line);
	for (size_t i = 0; buf[i] != '\0'; i++)
		if (buf[i] == '+')
			buf[i] = '\a';
	for (char *t = strtok_r(buf, " ", &save); t != NULL && n < MAXARGS;
	    t = strtok_r(NULL, " ", &save))
		argv[n++] = t;
	for (char *c = buf; c < buf + strlen(line); c++)
		if (*c == '\a')
			*c = ' ';
	return n;
}

/* Decide a run of `line` under the named profile. */
static void
run(const char *profile, const char *line, enum policy_verdict want,
    enum policy_kind wkind, enum policy_cap wcap)
{
	struct policy p;
	struct policy_state st = { 100, 0, 0 };
	struct policy_request rq;
	struct policy_decision d;
	const char *argv[MAXARGS];
	char buf[256];

	if (policy_profile(&p, profile, 0) != 0) {
		ok(0, "profile %s", profile);
		return;
	}
	memset(&rq, 0, sizeof(rq));
	rq.op = OP_RUN;
	rq.argv = argv;
	rq.argc = split(buf, line, argv);
	policy_decide(&p, &st, &rq, &d);
	ok(d.verdict == want && d.kind == wkind &&
	    (wcap == CAP_COUNT || d.cap == wcap),
	    "%s: run \"%s\": %s%s%s", profile, line,
	    want == VERDICT_DENY ? policy_kind_name(wkind) :
	    policy_verdict_name(want), want == VERDICT_APPROVAL ? " for " : "",
	    want == VERDICT_APPROVAL ? policy_cap_name(wcap) : "");
	if (d.verdict != want || d.kind != wkind)
		diag("got %s %s: %s", policy_verdict_name(d.verdict),
		    policy_kind_name(d.kind), d.reason);
	policy_free(&p);
}

#define ALLOW		VERDICT_ALLOW, KIND_NONE, CAP_COUNT
#define DENIED(k)	VERDICT_DENY, KIND_##k, CAP_COUNT
#define APPROVAL(c)	VERDICT_APPROVAL, KIND_APPROVAL_REQUIRED, CAP_##c

static void
default_set(void)
{
	/* fix_issue has the default command set; nu obliges run_bash. */
	run("fix_issue", "cargo test --release", APPROVAL(RUN_BASH));
	run("fix_issue", "cargo test executor", APPROVAL(RUN_BASH));
	run("fix_issue", "cargo fmt --check", APPROVAL(RUN_BASH));
	run("fix_issue", "cargo fmt", DENIED(COMMAND_DENIED));
	run("fix_issue", "npm install", DENIED(COMMAND_DENIED));
	run("fix_issue", "sudo apt install", DENIED(COMMAND_DENIED));
	run("fix_issue", "bash -c ls", DENIED(COMMAND_DENIED));
	run("fix_issue", "python3 -c print(1)", DENIED(COMMAND_DENIED));
	run("fix_issue", "node -e 1", DENIED(COMMAND_DENIED));
	run("fix_issue", "php -r 1", DENIED(COMMAND_DENIED));
	run("fix_issue", "gh auth login", DENIED(COMMAND_DENIED));
	run("fix_issue", "git status", APPROVAL(RUN_BASH));
	run("fix_issue", "git log --oneline -3", APPROVAL(RUN_BASH));
}

static void
baseline(void)
{
	/* permissive allows what no block rule refuses. */
	run("local_dev", "make -j2", ALLOW);
	run("local_dev", "cargo test executor", ALLOW);
	run("local_dev", "rm -r build", ALLOW);
	run("local_dev", "rm -f a.o", ALLOW);
	run("local_dev", "rm -rf /", DENIED(COMMAND_DENIED));
	run("local_dev", "rm -fr x", DENIED(COMMAND_DENIED));
	run("local_dev", "rm -Rf x", DENIED(COMMAND_DENIED));
	run("local_dev", "rm -r -f x", DENIED(COMMAND_DENIED));
	run("local_dev", "rm x --recursive --force", DENIED(COMMAND_DENIED));
	run("local_dev", "rm --rec --for x", DENIED(COMMAND_DENIED));
	run("local_dev", "rm -vrf x", DENIED(COMMAND_DENIED));
	run("local_dev", "/bin/rm -rf x", DENIED(COMMAND_DENIED));
	run("local_dev", "sudo ls", DENIED(COMMAND_DENIED));
	run("local_dev", "su", DENIED(COMMAND_DENIED));
	run("local_dev", "doas ls", DENIED(COMMAND_DENIED));
	run("local_dev", "chmod 777 x", DENIED(COMMAND_DENIED));
	run("local_dev", "chown u x", DENIED(COMMAND_DENIED));
	run("local_dev", "dd if=/dev/zero", DENIED(COMMAND_DENIED));
	run("local_dev", "mkfs /dev/sda", DENIED(COMMAND_DENIED));
	run("local_dev", "mkfs.ext4 /dev/sda", DENIED(COMMAND_DENIED));
	run("local_dev", "sh -c x", DENIED(COMMAND_DENIED));
	run("local_dev", "bash -xc x", DENIED(COMMAND_DENIED));
	run("local_dev", "bash --norc -c x", DENIED(COMMAND_DENIED));
	run("local_dev", "zsh -c x", DENIED(COMMAND_DENIED));
	run("local_dev", "fish --command x", DENIED(COMMAND_DENIED));
	run("local_dev", "dash -c x", DENIED(COMMAND_DENIED));
	run("local_dev", "bash script.sh", ALLOW);
	run("local_dev", "python -c x", DENIED(COMMAND_DENIED));
	run("local_dev", "python3.11 -Sc x", DENIED(COMMAND_DENIED));
	run("local_dev", "python3 script.py", ALLOW);
	run("local_dev", "node -e x", DENIED(COMMAND_DENIED));
	run("local_dev", "node --eval=x", DENIED(COMMAND_DENIED));
	run("local_dev", "node -p x", DENIED(COMMAND_DENIED));
	run("local_dev", "node app.js", ALLOW);
	run("local_dev", "ruby -e x", DENIED(COMMAND_DENIED));
	run("local_dev", "perl -e x", DENIED(COMMAND_DENIED));
	run("local_dev", "perl -E x", DENIED(COMMAND_DENIED));
	run("local_dev", "php -r x", DENIED(COMMAND_DENIED));
	run("local_dev", "pwsh -Command x", DENIED(COMMAND_DENIED));
	run("local_dev", "powershell -EncodedCommand x",
	    DENIED(COMMAND_DENIED));
	run("local_dev", "gh auth login", DENIED(COMMAND_DENIED));
	run("local_dev", "gh config set x", DENIED(COMMAND_DENIED));
	run("local_dev", "gh issue list", ALLOW);
	/* Wrappers: what they run is what counts. */
	run("local_dev", "env bash -c x", DENIED(COMMAND_DENIED));
	run("local_dev", "env FOO=1 sudo ls", DENIED(COMMAND_DENIED));
	run("local_dev", "timeout 5 rm -rf x", DENIED(COMMAND_DENIED));
	run("local_dev", "xargs rm -rf", DENIED(COMMAND_DENIED));
	run("local_dev", "find . -exec sh -c x ;", DENIED(COMMAND_DENIED));
	run("local_dev", "nice -n 5 make", ALLOW);
	/* The reference matched substrings: "exec" is not "executor". */
	run("local_dev", "cargo test exec", ALLOW);
}

static void
classification(void)
{
	static const struct {
		const char *line;
		enum policy_cap cap;
	} cases[] = {
		{ "git commit -m x", CAP_GIT_COMMIT },
		{ "git push origin main", CAP_GIT_PUSH },
		{ "git -C repo push", CAP_GIT_PUSH },
		{ "git -c user.name=x commit", CAP_GIT_COMMIT },
		{ "git --git-dir .git --work-tree . push", CAP_GIT_PUSH },
		{ "git --no-pager push", CAP_GIT_PUSH },
		{ "/usr/bin/git push", CAP_GIT_PUSH },
		{ "git-push origin", CAP_GIT_PUSH },
		{ "git status", CAP_RUN_BASH },
		{ "git", CAP_RUN_BASH },
		{ "git log --grep push", CAP_RUN_BASH },
		{ "gh pr create --fill", CAP_CREATE_PR },
		{ "gh pr new", CAP_CREATE_PR },
		{ "gh pr list", CAP_RUN_BASH },
		{ "ls", CAP_RUN_BASH },
		{ "git -c alias.p=push p", CAP_COUNT },
		{ "git -c ALIAS.p=push p", CAP_COUNT },
		{ "git --config-env alias.p=V p", CAP_COUNT },
		{ "git --config-env=alias.p=V p", CAP_COUNT },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[MAXARGS];
		char buf[256];
		size_t n = split(buf, cases[i].line, argv);

		is_int(policy_classify(argv, n), cases[i].cap,
		    "classify \"%s\": %s", cases[i].line,
		    cases[i].cap == CAP_COUNT ? "refused" :
		    policy_cap_name(cases[i].cap));
	}
}

/*
 * What the rules cannot see is refused, not classified: env -S, whose
 * string becomes a command line; git configuration on the command line
 * that includes a file or runs a program; git options that run a
 * program or read past the path rules.
 */
static void
refused(void)
{
	static const char *const lines[] = {
		"env -S git+push", "env -S sh+-c+id", "env -Sgit+push",
		"env -iS git+push", "env -v -S git+push",
		"env --split-string=git+push", "env --split-string git+push",
		"env --sp=git+push", "env -u X -S git+push",
		"git -c include.path=x status",
		"git -c includeIf.onbranch:main.path=x status",
		"git --config-env=include.path=V status",
		"git -c core.fsmonitor=./x status",
		"git -c filter.x.clean=./x status",
		"git -c diff.x.textconv=./x diff",
		"git -c remote.origin.receivepack=./x push",
		"git -c protocol.ext.allow=always push",
		"git -c pager.log=./x log", "git -c CORE.SSHCOMMAND=./x push",
		"git --exec-path=. push",
		"git diff --no-index -- /dev/null .env",
		"git diff --ext-diff", "git log -p --textconv",
		"git push --receive-pack=./x", "git push --rec=./x",
		"git fetch --upload-pack ./x", "git push --exec=./x",
		"watch git+push", "parallel git ::: push",
		"runuser root -c git+push", "flock lock -c git+push",
		"flock lock --command=git+push", "script -qc git+push",
		"script --comm git+push /dev/null",
		"git help status", "git status --help", "git --help",
		"git difftool", "git mergetool", "git filter-branch x",
		"git remote-ext x y", "git remote-foo x y", "git bisect run x",
		"git submodule foreach x", "git submodule -q foreach x",
		"git rebase -x x main", "git rebase -ix x main",
		"git rebase --exec=x main", "git grep -iOx y",
		"git grep --open-files-in-pager=x y", "git grep --open y",
		"git clone -u x a b", "git clone -qux a b",
		"git clone -cfilter.x.clean=y a b",
		"git clone -c include.path=y a b",
		"git clone --config=core.pager=x a b",
		"git clone --config core.pager=x a b",
		"git init --templ=x", "git clone --template x a b",
		"git config filter.x.clean y", "git config --add merge.x.driver y",
		"git config --rename-section a.x filter.x",
		"git config --rename-section a.x merge.x",
		"git config include.path y", "git config submodule.s.update y",
		"git config -f f core.editor y",
		"git-push --receive-pack=x", "git-push --exec=x",
		"git-fetch --upload-pack=x", "git-clone -u x a b",
		"git-difftool", "git-remote-ext x y", "git-help status",
	};
	static const char *const fine[] = {
		"env -u S git status", "env -uS git status", "env FOO=1 -S",
		"env -C S git status", "git diff --no-ext-diff --no-textconv",
		"git -c user.name=x status", "git log --exclude=x",
		"flock lock make", "script -q log",
		"git cherry-pick -x abc", "git rebase -Xsubtree=x main",
		"git rebase -i main", "git grep -e O", "git clone -b x a b",
		"git clone -c user.name=x a b", "git config user.email a@b.c",
		"git config --get user.name", "git submodule update",
		"git-upload-pack repo",
	};
	const char *argv[MAXARGS];
	char buf[256];

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		is_int(policy_classify(argv, split(buf, lines[i], argv)),
		    CAP_COUNT, "refused: \"%s\"", lines[i]);
	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++)
		is_int(policy_classify(argv, split(buf, fine[i], argv)),
		    CAP_RUN_BASH, "run_bash: \"%s\"", fine[i]);
	/* Every key the proxy forces is one the agent cannot override. */
	for (size_t i = 0; i < policy_git_nforced; i++) {
		const char *v[] = { "git", "-c", buf, "status" };

		snprintf(buf, sizeof(buf), "%s=./x", policy_git_forced[i].key);
		is_int(policy_classify(v, 4), CAP_COUNT, "git -c %s refused",
		    buf);
	}
	/* Seen through a wrapper, and with the reason a person reads. */
	run("local_dev", "nice env -S sh+-c+id", DENIED(COMMAND_DENIED));
	run("release", "env -S git+push", DENIED(COMMAND_DENIED));
	run("restrictive", "git diff --no-index -- /dev/null .env",
	    DENIED(COMMAND_DENIED));
	run("codegen", "env -C d git push", DENIED(INSUFFICIENT_CAPABILITY));
	run("local_dev", "timeout 9 flock x -c sh+-c+id",
	    DENIED(COMMAND_DENIED));
}

static void
profiles_and_commands(void)
{
	/* The proxy conformance cases of the model, at the library level. */
	run("codegen", "git push", DENIED(INSUFFICIENT_CAPABILITY));
	run("pr_approve", "git push", DENIED(COMMAND_DENIED));
	run("release", "git push", APPROVAL(GIT_PUSH));
	run("fix_issue", "cargo test", APPROVAL(RUN_BASH));
	/* Wrappers cannot launder a push into run_bash. */
	run("codegen", "env git push", DENIED(INSUFFICIENT_CAPABILITY));
	run("codegen", "timeout 9 git push", DENIED(INSUFFICIENT_CAPABILITY));
	run("release", "git -c alias.p=push p", DENIED(COMMAND_DENIED));
	/* restrictive: only what it lists. */
	run("restrictive", "ls -la", DENIED(INSUFFICIENT_CAPABILITY));
	run("database_client", "psql -c select", ALLOW);
	run("database_client", "sqlite3 db.sqlite", ALLOW);
	run("database_client", "ls", DENIED(COMMAND_DENIED));
	/* demo blocks every shell and interpreter, whatever the args. */
	run("demo", "bash script.sh", DENIED(COMMAND_DENIED));
	run("demo", "python3 x.py", DENIED(COMMAND_DENIED));
	run("demo", "node x.js", DENIED(COMMAND_DENIED));
	run("demo", "make", APPROVAL(RUN_BASH));
}

static void
rule_matching(void)
{
	static const char rule[] = "{\"program\":\"cargo\",\"args\":[{\"exact\":"
	    "\"fmt\"},\"any\",{\"exact\":\"--check\"},\"any_remaining\"]}";
	struct policy_error err;
	struct policy_ctx c;
	struct policy_rule r;
	json_t *j = json_loads(rule, 0, NULL);
	const char *a1[] = { "cargo", "fmt", "x", "--check" };
	const char *a2[] = { "cargo", "fmt", "x", "--check", "y", "z" };
	const char *a3[] = { "cargo", "fmt", "--check" };
	const char *a4[] = { "cargo", "fmt", "x", "--checkx" };

	ctx_init(&c, &err);
	if (policy_rule_from_json(&r, j, &c) != 0) {
		ok(0, "rule parses: %s: %s", err.path, err.message);
		return;
	}
	ok(policy_rule_matches(&r, a1, 4), "exact, any, exact match in place");
	ok(policy_rule_matches(&r, a2, 6), "patterns match a prefix");
	ok(!policy_rule_matches(&r, a3, 3), "too few arguments: no match");
	ok(!policy_rule_matches(&r, a4, 4), "exact means exact");
	is_str(r.key, "{\"args\":[{\"exact\":\"fmt\"},\"any\",{\"exact\":"
	    "\"--check\"}],\"program\":\"cargo\"}", "canonical form drops a "
	    "trailing any_remaining");
	policy_rule_free(&r);
	json_decref(j);
	/* Empty lists are no lists (found by fuzz-policy-load). */
	j = json_loads("{\"program\":\"x\",\"args\":[],\"options\":[]}",
	    0, NULL);
	ok(policy_rule_from_json(&r, j, &c) == 0 &&
	    strcmp(r.key, "{\"program\":\"x\"}") == 0,
	    "empty args and options: the rule is just its program");
	policy_rule_free(&r);
	json_decref(j);
	j = json_loads("{\"program\":\"x\",\"options\":[{\"long\":[],"
	    "\"short\":\"a\"}]}", 0, NULL);
	ok(policy_rule_from_json(&r, j, &c) == 0 && r.nopts == 1 &&
	    r.opts[0].nlongs == 0, "an option spec with an empty long list");
	policy_rule_free(&r);
	json_decref(j);
}

int
main(void)
{
	default_set();
	baseline();
	classification();
	refused();
	profiles_and_commands();
	rule_matching();
	return done_testing();
}
