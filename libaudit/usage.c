/*
 * What every program's command line has in common: --help prints the
 * usage on stdout and exits 0; --version prints "program VERSION" and
 * exits 0; a usage error says what was wrong on stderr, then the usage,
 * and exits 2.  The version is the Makefile's VERSION, given to this
 * file alone (-DNUCLEUS_VERSION).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "usage.h"

#ifndef NUCLEUS_VERSION
#define NUCLEUS_VERSION	"unknown"	/* built outside the Makefile */
#endif

const char usage_version[] = NUCLEUS_VERSION;

/* Print and exit 0, or 2 when stdout cannot take it. */
static void __attribute__((noreturn))
say_exit(const char *text)
{
	if (fputs(text, stdout) == EOF || fflush(stdout) != 0)
		exit(USAGE_EXIT);
	exit(0);
}

/*
 * --help or --version as argv[1] (the program's first argument, or a
 * command's): answered here, and the program exits.  prog names it.
 */
void
usage_std(int argc, char **argv, const char *prog, const char *text)
{
	if (argc < 2)
		return;
	if (strcmp(argv[1], "--help") == 0)
		say_exit(text);
	if (strcmp(argv[1], "--version") == 0) {
		if (printf("%s %s\n", prog, usage_version) < 0 ||
		    fflush(stdout) != 0)
			exit(USAGE_EXIT);
		exit(0);
	}
}

/* The usage on stderr; exit 2. */
void
usage_fail(const char *text)
{
	fputs(text, stderr);
	exit(USAGE_EXIT);
}

/* "prog: unknown command cmd", the usage; exit 2. */
void
usage_unknown(const char *prog, const char *cmd, const char *text)
{
	char shown[64];
	size_t i;

	/* Printable, and short: it is someone's typing. */
	for (i = 0; i < sizeof(shown) - 1 && cmd[i] != '\0'; i++)
		shown[i] = cmd[i] >= 0x20 && cmd[i] < 0x7f ? cmd[i] : '?';
	shown[i] = '\0';
	fprintf(stderr, "%s: unknown command %s%s\n", prog, shown,
	    cmd[i] != '\0' ? "..." : "");
	usage_fail(text);
}

/*
 * argv[0] of a command's options becomes "prog cmd", so that getopt's
 * own message names the program, the command and the wrong option:
 * "nucleus-node serve: invalid option -- 'Z'".
 */
void
usage_command(char **argv, const char *prog)
{
	static char name[128];
	size_t p = strlen(prog), c = strlen(argv[0]);

	if (p + 1 + c >= sizeof(name))
		return;		/* getopt says argv[0], as it was */
	memcpy(name, prog, p);
	name[p] = ' ';
	memcpy(name + p + 1, argv[0], c + 1);
	argv[0] = name;
}
