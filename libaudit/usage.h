/*
 * The command line's common part (usage.c): --help and --version, the
 * same in every program, and a usage error that names what was wrong.
 */
#ifndef NUCLEUS_USAGE_H
#define NUCLEUS_USAGE_H

#define USAGE_EXIT	2	/* a usage error, in every program */

extern const char usage_version[];	/* the Makefile's VERSION */

void	 usage_std(int, char **, const char *, const char *);
void	 usage_fail(const char *) __attribute__((noreturn));
void	 usage_unknown(const char *, const char *, const char *)
	    __attribute__((noreturn));
void	 usage_command(char **, const char *);

#endif /* NUCLEUS_USAGE_H */
