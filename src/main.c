#include <stdio.h>

int
main(int argc, char **argv)
{
	fprintf(stderr, "dirsync: not built yet\n");
	return 2;
}
