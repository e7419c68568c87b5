/* hello: the example project of "make demo".  It has a typo to fix. */
#include <stdio.h>

int
main(void)
{
	printf("Hello, wrold!\n");
	return 0;
}
