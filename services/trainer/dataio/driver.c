/* rs-dataio generate|import ...: the trainer_dataio subcommands without the rest of rs-train. */
#include "dataio.h"

#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "generate") == 0)
		return trn_cmd_generate(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "import") == 0)
		return trn_cmd_import(argc - 1, argv + 1);
	fprintf(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr,
	        "usage: rs-dataio generate|import [--help | options]\n");
	return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
}
