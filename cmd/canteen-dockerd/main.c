/* main.c: canteen-dockerd (not implemented yet: says so plainly). */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("canteen-dockerd %s\n", CANTEEN_VERSION);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		printf("usage: canteen-dockerd [options]\ncanteen-dockerd is not implemented yet.\n");
		return 0;
	}
	fprintf(stderr, "canteen-dockerd: not implemented yet\n");
	return 1;
}
