/* notyet.c: subcommands whose area has not landed yet; each says so plainly. */
#include "cli.h"

static int not_yet(const char *name)
{
	cli_err("'%s' is not implemented yet", name);
	return CLI_FAIL;
}

int cmd_ps(struct cli *cli, int argc, char **argv) { (void)cli; (void)argc; return not_yet(argv[0]); }
int cmd_endpoints(struct cli *cli, int argc, char **argv) { (void)cli; (void)argc; return not_yet(argv[0]); }
int cmd_up(struct cli *cli, int argc, char **argv) { (void)cli; (void)argc; return not_yet(argv[0]); }
int cmd_down(struct cli *cli, int argc, char **argv) { (void)cli; (void)argc; return not_yet(argv[0]); }
