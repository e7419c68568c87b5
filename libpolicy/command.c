/*
 * Commands: argv rules and classification.  A command is always an argv
 * array; no shell ever parses it.
 */
#include <string.h>
#include <strings.h>

#include "policy.h"

/* The name a rule's program pattern is matched against: the basename. */
const char *
policy_program_name(const char *argv0)
{
	const char *slash = strrchr(argv0, '/');

	return slash != NULL ? slash + 1 : argv0;
}

static int
has_short(const struct policy_optspec *o, char c)
{
	return c != '\0' && strchr(o->shorts, c) != NULL;
}

/*
 * Is the option o present in this argument?  Options are looked for in
 * every argument, after "--" too: a block rule would rather refuse too
 * much than too little.
 */
static int
option_in_arg(const struct policy_optspec *o, const char *arg)
{
	if (arg[0] != '-' || arg[1] == '\0')
		return 0;
	if (arg[1] == '-') {
		const char *name = arg + 2, *eq = strchr(name, '=');
		size_t n = eq != NULL ? (size_t)(eq - name) : strlen(name);

		if (n == 0)
			return 0;
		/* GNU getopt takes any unambiguous abbreviation. */
		for (size_t i = 0; i < o->nlongs; i++)
			if (n <= strlen(o->longs[i]) &&
			    strncmp(o->longs[i], name, n) == 0)
				return 1;
		return 0;
	}
	for (const char *c = arg + 1; *c != '\0'; c++)
		if (has_short(o, *c))
			return 1;
	return 0;
}

static int
option_present(const struct policy_optspec *o, const char *const *argv,
    size_t argc)
{
	for (size_t i = 1; i < argc; i++)
		if (option_in_arg(o, argv[i]))
			return 1;
	return 0;
}

/*
 * A rule matches when its program pattern matches the program's name, its
 * argument patterns match a prefix of the arguments, and each of its
 * option specs is present somewhere among the arguments.  prog is the
 * basename of argv[0], found once by the caller.
 */
int
policy_rule_matches_name(const struct policy_rule *r, const char *prog,
    size_t proglen, const char *const *argv, size_t argc)
{
	return policy_rule_matches_wild(r, prog, proglen, argv, argc, 0);
}

/* Does this word hold find's "{}", which find replaces with a path? */
static int
has_braces(const char *a)
{
	return strstr(a, "{}") != NULL;
}

/*
 * policy_rule_matches_name, where with wild set a word holding "{}"
 * matches any exact pattern: find puts a path the agent can name there
 * (a directory called "push" or "auth"), which no rule sees.
 */
int
policy_rule_matches_wild(const struct policy_rule *r, const char *prog,
    size_t proglen, const char *const *argv, size_t argc, int wild)
{
	size_t i = 1;

	if (r->literal) {
		if (proglen != r->proglen || memcmp(prog, r->program,
		    proglen) != 0)
			return 0;
	} else if (!policy_name_match(r->program, r->proglen, prog, proglen))
		return 0;
	for (size_t k = 0; k < r->nargs; k++) {
		const struct policy_argpat *a = &r->args[k];

		if (a->kind == ARGPAT_ANY_REMAINING)
			break;
		if (i >= argc)
			return 0;
		if (a->kind == ARGPAT_EXACT && !(wild && has_braces(argv[i])) &&
		    (strlen(argv[i]) != a->len ||
		    memcmp(argv[i], a->s, a->len) != 0))
			return 0;
		i++;
	}
	for (size_t k = 0; k < r->nopts; k++)
		if (!option_present(&r->opts[k], argv, argc))
			return 0;
	return 1;
}

int
policy_rule_matches(const struct policy_rule *r, const char *const *argv,
    size_t argc)
{
	const char *prog = policy_program_name(argv[0]);

	return policy_rule_matches_name(r, prog, strlen(prog), argv, argc);
}

/*
 * Does a short option cluster of env hold -S (1) or -a, --argv0 (2),
 * before an option's value?
 */
static int
env_short_splits(const char *a, int *takes_next)
{
	for (const char *c = a + 1; *c != '\0'; c++) {
		if (*c == 'S')
			return 1;
		if (*c == 'a')
			return 2;
		if (*c == 'u' || *c == 'C') {	/* the rest is their value */
			*takes_next = c[1] == '\0';
			return 0;
		}
	}
	return 0;
}

/*
 * Does this env command line split a string into a command (-S,
 * --split-string in any abbreviation)?  Its options are read as env reads
 * them, up to the first word that is not an option.
 */
static int
env_splits(const char *const *argv, size_t argc)
{
	for (size_t i = 1; i < argc; i++) {
		const char *a = argv[i];
		int takes_next = 0, r;

		/* env's getopt stops at the first NAME=VALUE too. */
		if (strcmp(a, "--") == 0 || a[0] != '-' || a[1] == '\0')
			return 0;
		if (a[1] == '-') {
			size_t n = strcspn(a + 2, "=");

			if (n > 0 && strncmp("split-string", a + 2, n) == 0 &&
			    n <= strlen("split-string"))
				return 1;
			if (n > 0 && strncmp("argv0", a + 2, n) == 0 &&
			    n <= strlen("argv0"))
				return 2;
			if ((strcmp(a, "--unset") == 0 ||
			    strcmp(a, "--chdir") == 0) && i + 1 < argc)
				i++;
			continue;
		}
		if ((r = env_short_splits(a, &takes_next)) != 0)
			return r;
		if (takes_next)
			i++;
	}
	return 0;
}

/*
 * Wrappers that hand a string to a shell: watch and parallel join or take
 * their arguments as a shell's command line, and runuser hands what
 * follows its user to that user's shell.  No rule can see what runs.
 */
static const char *const shell_wrappers[] = {
	"capsh", "newgrp", "parallel", "runuser", "screen", "sem", "sg",
	"tmux", "watch",
};

/* Wrappers whose -c (--command) takes a shell's command line. */
static const char *const dash_c_wrappers[] = { "flock", "script" };

static int
named(const char *const *list, size_t n, const char *prog)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], prog) == 0)
			return 1;
	return 0;
}

/*
 * Is there a -c, a cluster holding c, or --command in any abbreviation
 * among the arguments?  Looked for everywhere: a wrapper of this kind
 * would rather be refused than let a command string through.
 */
static int
has_dash_c(const char *const *argv, size_t argc)
{
	for (size_t i = 1; i < argc; i++) {
		const char *a = argv[i];
		size_t n;

		if (a[0] != '-' || a[1] == '\0')
			continue;
		if (a[1] != '-') {
			if (strchr(a + 1, 'c') != NULL)
				return 1;
			continue;
		}
		n = strcspn(a + 2, "=");
		if (n > 0 && n <= 7 && strncmp("command", a + 2, n) == 0)
			return 1;
	}
	return 0;
}

/*
 * gh's command words as its command parser (cobra) finds them: an option
 * is skipped, and so is the word after one that holds no '=' (the
 * option's value, unless the option is a switch).  With consume 0 the
 * words after options are kept instead.  Stops at "--".  Returns how many
 * words (at most 2) it put in w.
 */
static size_t
gh_words(const char *const *argv, size_t argc, int consume,
    const char *w[2])
{
	size_t n = 0;

	for (size_t i = 1; i < argc && n < 2; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0)
			break;
		if (a[0] != '-' || a[1] == '\0') {
			w[n++] = a;
			continue;
		}
		if (consume && strchr(a, '=') == NULL &&
		    (a[1] == '-' || a[2] == '\0'))
			i++;
	}
	return n;
}

/* Is gh's first command word, in either reading of its options, a or b? */
static int
gh_first_is(const char *const *argv, size_t argc, const char *a,
    const char *b)
{
	for (int consume = 0; consume <= 1; consume++) {
		const char *w[2];

		if (gh_words(argv, argc, consume, w) >= 1 &&
		    (strcmp(w[0], a) == 0 || strcmp(w[0], b) == 0))
			return 1;
	}
	return 0;
}

/*
 * Does a command find runs (-exec, -execdir, -ok, -okdir) take a word
 * from a path where what it means depends on the word: as the program,
 * or anywhere in a git or gh command, whose words say what it does?
 */
static int
find_runs_braces(const char *const *argv, size_t argc)
{
	for (size_t i = 1; i < argc; i++) {
		const char *a = argv[i], *prog;
		size_t end;

		if (strcmp(a, "-exec") != 0 && strcmp(a, "-execdir") != 0 &&
		    strcmp(a, "-ok") != 0 && strcmp(a, "-okdir") != 0)
			continue;
		if (++i >= argc)
			break;
		if (has_braces(argv[i]))
			return 1;
		prog = policy_program_name(argv[i]);
		for (end = i + 1; end < argc && strcmp(argv[end], ";") != 0 &&
		    strcmp(argv[end], "+") != 0; end++)
			if ((strcmp(prog, "git") == 0 ||
			    strncmp(prog, "git-", 4) == 0 ||
			    strcmp(prog, "gh") == 0) && has_braces(argv[end]))
				return 1;
		i = end;
	}
	return 0;
}

/* Is --NAME or --NAME=... among the arguments? */
static int
has_long(const char *const *argv, size_t argc, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 1; i < argc; i++)
		if (strncmp(argv[i], "--", 2) == 0 &&
		    strncmp(argv[i] + 2, name, n) == 0 &&
		    (argv[i][2 + n] == '\0' || argv[i][2 + n] == '='))
			return 1;
	return 0;
}

/* Why a wrapper is refused rather than seen through, or NULL. */
static const char *
wrapper_refused(const char *prog, const char *const *argv, size_t argc)
{
	int r;

	if (strcmp(prog, "xargs") == 0)
		return "xargs is refused: the words it adds come from its "
		    "input, which the rules cannot see";
	if (strcmp(prog, "find") == 0 && find_runs_braces(argv, argc))
		return "find -exec is refused when a path found (\"{}\") "
		    "would be the program, or a word of git or gh: the rules "
		    "cannot see it";
	if (strcmp(prog, "env") == 0 && (r = env_splits(argv, argc)) != 0)
		return r == 1 ? "env -S (--split-string) is refused: the "
		    "string it splits is a command line the rules cannot see" :
		    "env -a (--argv0) is refused: the name it gives a program "
		    "can make it another (git run as git-push is git push)";
	if (strcmp(prog, "bwrap") == 0 && has_long(argv, argc, "argv0"))
		return "bwrap --argv0 is refused: the name it gives a program "
		    "can make it another (git run as git-push is git push)";
	if (named(shell_wrappers, sizeof(shell_wrappers) /
	    sizeof(shell_wrappers[0]), prog))
		return "watch, parallel, sem, runuser, sg, newgrp, capsh, "
		    "tmux and screen are refused: they hand a string to a "
		    "shell, which the rules cannot see";
	if (strcmp(prog, "gh") == 0 && argc > 1 && argv[1][0] == '-' &&
	    (gh_first_is(argv, argc, "auth", "config") ||
	    gh_first_is(argv, argc, "alias", "extension") ||
	    gh_first_is(argv, argc, "extensions", "ext")))
		return "gh auth, config, alias and extension are refused, "
		    "with gh's options before them too";
	if (named(dash_c_wrappers, sizeof(dash_c_wrappers) /
	    sizeof(dash_c_wrappers[0]), prog) && has_dash_c(argv, argc))
		return "flock -c and script -c are refused: their command is "
		    "a string for a shell, which the rules cannot see";
	return NULL;
}

/*
 * What a git subcommand exercises, given the arguments after it: commit
 * is git_commit; push, and the plumbing that pushes as it does
 * (send-pack, http-push, and subtree push, a script that runs git push),
 * are git_push.
 */
static enum policy_cap
git_sub_cap(const char *sub, const char *const *rest, size_t nrest)
{
	if (strcmp(sub, "commit") == 0)
		return CAP_GIT_COMMIT;
	if (strcmp(sub, "push") == 0 || strcmp(sub, "send-pack") == 0 ||
	    strcmp(sub, "http-push") == 0)
		return CAP_GIT_PUSH;
	if (strcmp(sub, "subtree") == 0)
		for (size_t i = 0; i < nrest; i++)
			if (strcmp(rest[i], "push") == 0)
				return CAP_GIT_PUSH;
	return CAP_RUN_BASH;
}

/*
 * Is this gh command line "gh pr create" (or "gh pr new"), with gh's
 * options anywhere before the words ("gh -R o/r pr create")?  Both
 * readings of an option's next word are tried: a switch gh knows does not
 * take it, an option does.
 */
static int
gh_creates_pr(const char *const *argv, size_t argc)
{
	for (int consume = 0; consume <= 1; consume++) {
		const char *w[2];

		if (gh_words(argv, argc, consume, w) == 2 &&
		    strcmp(w[0], "pr") == 0 &&
		    (strcmp(w[1], "create") == 0 || strcmp(w[1], "new") == 0))
			return 1;
	}
	return 0;
}

/*
 * The capability a command exercises: git commit is git_commit, git push
 * (and git's plumbing that pushes: send-pack, http-push, subtree push)
 * is git_push, gh pr create (or its alias gh pr new), with gh's options
 * anywhere among its words, is create_pr, and everything else is
 * run_bash.  CAP_COUNT, with *why, for a command that
 * is refused rather than classified.
 */
enum policy_cap
policy_classify_why(const char *const *argv, size_t argc, const char **why)
{
	const char *prog = policy_program_name(argv[0]);
	const char *refused;

	if ((refused = wrapper_refused(prog, argv, argc)) != NULL) {
		*why = refused;
		return CAP_COUNT;
	}
	if (strcmp(prog, "git") == 0) {
		int sub;

		if ((refused = policy_git_refused(argv, argc)) != NULL) {
			*why = refused;
			return CAP_COUNT;
		}
		sub = policy_git_subcommand(argv, argc);
		return sub > 0 ? git_sub_cap(argv[sub], argv + sub + 1,
		    argc - (size_t)sub - 1) : CAP_RUN_BASH;
	}
	/*
	 * git's own helpers, as found in its exec path: git-SUB ARGS is
	 * held to the rules for git SUB ARGS (git-push --receive-pack=CMD
	 * is refused as git push --receive-pack=CMD is).
	 */
	if (strncmp(prog, "git-", 4) == 0 && prog[4] != '\0' &&
	    argc <= POLICY_ARGV_MAX) {
		const char *as_git[POLICY_ARGV_MAX + 2];

		as_git[0] = "git";
		as_git[1] = prog + 4;
		for (size_t i = 1; i < argc; i++)
			as_git[i + 1] = argv[i];
		as_git[argc + 1] = NULL;
		if ((refused = policy_git_refused(as_git, argc + 1)) != NULL) {
			*why = refused;
			return CAP_COUNT;
		}
	}
	if (strncmp(prog, "git-", 4) == 0 && prog[4] != '\0')
		return git_sub_cap(prog + 4, argv + 1, argc - 1);
	if (strcmp(prog, "gh") == 0 && gh_creates_pr(argv, argc))
		return CAP_CREATE_PR;
	return CAP_RUN_BASH;
}

enum policy_cap
policy_classify(const char *const *argv, size_t argc)
{
	const char *why;

	return policy_classify_why(argv, argc, &why);
}

/*
 * Does a rule's argv prefix cover this command line?  The command line
 * must begin with it word for word; the classifier must not refuse the
 * command (what the proxy would refuse, no rule grants); and for git,
 * every argument that configures git or runs a program must be within
 * the prefix (policy_git_runners_end): a prefix grants what follows it,
 * never a program or a configuration the rule does not name.
 */
int
policy_prefix_covers(const char *const *prefix, size_t nprefix,
    const char *const *argv, size_t argc)
{
	const char *prog, *why;

	if (nprefix == 0 || argc < nprefix)
		return 0;
	for (size_t i = 0; i < nprefix; i++)
		if (strcmp(prefix[i], argv[i]) != 0)
			return 0;
	if (policy_classify_why(argv, argc, &why) == CAP_COUNT)
		return 0;
	prog = policy_program_name(argv[0]);
	if ((strcmp(prog, "git") == 0 || strncmp(prog, "git-", 4) == 0) &&
	    policy_git_runners_end(argv, argc) > nprefix)
		return 0;
	return 1;
}
