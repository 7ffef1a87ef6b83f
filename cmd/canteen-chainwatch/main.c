/* main.c: canteen-chainwatch (not implemented yet: says so plainly). */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("canteen-chainwatch %s\n", CANTEEN_VERSION);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		printf("usage: canteen-chainwatch [options]\ncanteen-chainwatch is not implemented yet.\n");
		return 0;
	}
	fprintf(stderr, "canteen-chainwatch: not implemented yet\n");
	return 1;
}
