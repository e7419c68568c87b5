/*
 * try-landlock: exit 0 when the kernel offers Landlock (of at least ABI
 * version N, when given), 1 when not.  A test helper: tests that need
 * it say so as a prerequisite.
 *
 *	try-landlock [N]
 */
#include <linux/landlock.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);

	return abi > 0 && abi >= (argc > 1 ? atol(argv[1]) : 1) ? 0 : 1;
}
