/* rs-train: the offline pipeline (split, fit, recommend, evaluate, tune, publish, pipeline,
 * generate, import, synth). main only dispatches to commands.c; see README.md for the tour. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "dataio.h"
#include "describe.h"
#include "rs_blas.h"
#include "rs_log.h"
#include "simulate.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *what;
} cmds[] = {
        {"split", tr_cmd_split, "interaction log -> train.csv, test.csv, split.json"},
        {"fit", tr_cmd_fit, "train.csv -> model folder (pop, itemknn, als, ease, two-stage)"},
        {"recommend", tr_cmd_recommend, "model folder + users -> user,item,rank CSV"},
        {"evaluate", tr_cmd_evaluate, "test.csv + train.csv + recs.csv -> metrics"},
        {"tune", tr_cmd_tune, "grid search on a validation split carved from train.csv"},
        {"publish", tr_cmd_publish, "model folder -> immutable version folder (LMDB + manifest)"},
        {"pipeline", tr_cmd_pipeline,
         "event store -> tune/fit/evaluate all -> publish + activate the best"},
        {"generate", trn_cmd_generate, "synthetic marketplace -> PostgreSQL and/or CSV"},
        {"import", trn_cmd_import, "public dataset formats -> PostgreSQL"},
        {"describe", tr_cmd_describe,
         "data report of an event log or the event store (text, JSON, HTML)"},
        {"simulate", tr_cmd_simulate,
         "closed-loop A/B test of published models on the generated shop, through the stack"},
        {"synth", tr_cmd_synth, "synthetic Zipf interaction matrix as train.csv (speed tests)"},
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: rs-train <command> [options]   (rs-train <command> --help)\n\n"
	           "commands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].what);
	fprintf(f, "\nenvironment: RS_TRAIN_THREADS (default: all cores), RS_LOG_LEVEL\n");
}

int
main(int argc, char **argv)
{
	size_t i;

	rs_blas_init(); /* returns on the kernels this CPU should have */
	rs_log_init("trainer", RS_LOG_INFO);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "rs-train: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
