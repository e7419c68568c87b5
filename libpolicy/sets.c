/*
 * The built-in command sets, written in the file format itself so that
 * they are parsed, canonicalized and checked by the same code as a policy
 * file.  Every set, and every command list loaded from a file, carries the
 * baseline block rules: a file can add blocks, never remove these.
 */
#include <string.h>

#include "policy_int.h"

/* Shells take code with -c; fish also with --command. */
#define SHELL_C(p) \
	"{\"program\":\"" p "\",\"options\":[{\"short\":\"c\"," \
	"\"long\":[\"command\"]}]},"

static const char baseline_block[] = "["
	/* Privilege changes and raw disk access. */
	"{\"program\":\"sudo\"},{\"program\":\"su\"},{\"program\":\"doas\"},"
	"{\"program\":\"chmod\"},{\"program\":\"chown\"},{\"program\":\"dd\"},"
	"{\"program\":\"mkfs\"},{\"program\":\"mkfs.*\"},"
	/* rm with both a recursive and a force flag, in any spelling. */
	"{\"program\":\"rm\",\"options\":["
	"{\"short\":\"rR\",\"long\":[\"recursive\"]},"
	"{\"short\":\"f\",\"long\":[\"force\",\"interactive\"]}]},"
	/* Shells and interpreters handed code on the command line. */
	SHELL_C("sh") SHELL_C("bash") SHELL_C("zsh") SHELL_C("fish")
	SHELL_C("dash") SHELL_C("ksh") SHELL_C("mksh") SHELL_C("csh")
	SHELL_C("tcsh")
	/* The same shells under their other names (rbash, ksh93, lksh,
	 * pdksh, bsd-csh, zsh-static, ...), and the rest of /etc/shells. */
	SHELL_C("*bash") SHELL_C("*ksh*") SHELL_C("*csh") SHELL_C("zsh*")
	SHELL_C("ash") SHELL_C("yash") SHELL_C("posh")
	"{\"program\":\"python*\",\"options\":[{\"short\":\"c\"}]},"
	"{\"program\":\"node\",\"options\":[{\"short\":\"ep\","
	"\"long\":[\"eval\",\"print\"]}]},"
	"{\"program\":\"nodejs\",\"options\":[{\"short\":\"ep\","
	"\"long\":[\"eval\",\"print\"]}]},"
	"{\"program\":\"ruby*\",\"options\":[{\"short\":\"e\"}]},"
	"{\"program\":\"perl*\",\"options\":[{\"short\":\"eE\"}]},"
	/* php runs code given with -r, -B, -R and -E. */
	"{\"program\":\"php*\",\"options\":[{\"short\":\"rBRE\"}]},"
	/*
	 * PowerShell takes -Command, -c, -EncodedCommand, -e, -ec in any
	 * case and abbreviation: refuse any single-dash word holding c or e.
	 */
	"{\"program\":\"pwsh\",\"options\":[{\"short\":\"cCeE\","
	"\"long\":[\"command\",\"encodedcommand\"]}]},"
	"{\"program\":\"powershell\",\"options\":[{\"short\":\"cCeE\","
	"\"long\":[\"command\",\"encodedcommand\"]}]},"
	/* The forge's credentials. */
	"{\"program\":\"gh\",\"args\":[{\"exact\":\"auth\"}]},"
	"{\"program\":\"gh\",\"args\":[{\"exact\":\"config\"}]},"
	/* gh's aliases and extensions: a word that means pr create, or a
	 * program from HOME, the work root. */
	"{\"program\":\"gh\",\"args\":[{\"exact\":\"alias\"}]},"
	"{\"program\":\"gh\",\"args\":[{\"exact\":\"extension\"}]},"
	"{\"program\":\"gh\",\"args\":[{\"exact\":\"extensions\"}]},"
	"{\"program\":\"gh\",\"args\":[{\"exact\":\"ext\"}]}"
	"]";

#define ANY_ARGS(p)	"{\"program\":\"" p "\"}"
#define SUB(p, s)	"{\"program\":\"" p "\",\"args\":[{\"exact\":\"" s "\"}]}"

static const char default_allow[] = "["
	SUB("cargo", "test") "," SUB("cargo", "check") ","
	SUB("cargo", "clippy") ","
	"{\"program\":\"cargo\",\"args\":[{\"exact\":\"fmt\"},"
	"{\"exact\":\"--check\"}]},"
	SUB("git", "status") "," SUB("git", "diff") "," SUB("git", "log")
	"]";

static const char restrictive_allow[] = "["
	SUB("git", "status") "," SUB("git", "diff") "," SUB("git", "log") ","
	ANY_ARGS("ls") "," ANY_ARGS("cat") "," ANY_ARGS("head") ","
	ANY_ARGS("tail")
	"]";

static const char database_allow[] = "["
	ANY_ARGS("psql") "," ANY_ARGS("mysql") "," ANY_ARGS("sqlite3") ","
	ANY_ARGS("redis-cli") "," ANY_ARGS("mongosh")
	"]";

/* demo: every shell and interpreter, whatever its arguments. */
static const char demo_block[] = "["
	ANY_ARGS("bash") "," ANY_ARGS("sh") "," ANY_ARGS("zsh") ","
	ANY_ARGS("fish") "," ANY_ARGS("dash") "," ANY_ARGS("ksh") ","
	ANY_ARGS("mksh") "," ANY_ARGS("csh") "," ANY_ARGS("tcsh") ","
	ANY_ARGS("pwsh") ","
	ANY_ARGS("powershell") "," ANY_ARGS("python*")
	"," ANY_ARGS("node") "," ANY_ARGS("nodejs") "," ANY_ARGS("ruby*") ","
	ANY_ARGS("perl*") "," ANY_ARGS("php*")
	"]";

struct command_set {
	const char *name;
	const char *allow;	/* NULL: any */
	const char *block;	/* in addition to the baseline; may be NULL */
};

static const struct command_set sets[] = {
	{ "default", default_allow, NULL },
	{ "permissive", NULL, NULL },
	{ "restrictive", restrictive_allow, NULL },
	{ "database_client", database_allow, NULL },
	{ "demo", NULL, demo_block },
};

#define NSETS	(sizeof(sets) / sizeof(sets[0]))

/* The i-th command set's name, or NULL past the last. */
const char *
policy_command_set_name(size_t i)
{
	return i < NSETS ? sets[i].name : NULL;
}

static int
add_rules(struct policy_rules *l, const char *text, int any_ok)
{
	struct policy_error err;
	struct policy_ctx c;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	int rc;

	if (j == NULL)
		return -1;
	ctx_init(&c, &err);
	rc = policy_rules_from_json(l, j, &c, any_ok);
	json_decref(j);
	return rc;
}

/* Add the baseline block rules to cmds. */
int
policy_commands_baseline(struct policy_commands *cmds)
{
	return add_rules(&cmds->block, baseline_block, 0);
}

int
policy_commands_valid_set(const char *name)
{
	for (size_t i = 0; i < NSETS; i++)
		if (strcmp(name, sets[i].name) == 0)
			return 1;
	return 0;
}

/* Replace cmds with the named set.  Returns -1 for an unknown name. */
int
policy_commands_named(struct policy_commands *cmds, const char *name)
{
	for (size_t i = 0; i < NSETS; i++) {
		const struct command_set *s = &sets[i];

		if (strcmp(name, s->name) != 0)
			continue;
		policy_rules_free(&cmds->allow);
		policy_rules_free(&cmds->block);
		if (s->allow == NULL)
			cmds->allow.any = 1;
		else if (add_rules(&cmds->allow, s->allow, 0) != 0)
			return -1;
		if (policy_commands_baseline(cmds) != 0)
			return -1;
		if (s->block != NULL && add_rules(&cmds->block, s->block, 0) != 0)
			return -1;
		return 0;
	}
	return -1;
}
