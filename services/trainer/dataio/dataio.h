/* trainer_dataio: the data entry points of rs-train.
 *   rs-train generate  a synthetic marketplace (catalog, users, sessions) -> PostgreSQL and/or CSV
 *   rs-train import    public datasets (MovieLens, RetailRocket, sequence files, generic CSV)
 * Each takes argc/argv after the subcommand name (argv[0] is the subcommand), prints its own
 * --help, reports errors once on stderr ("rs-train <cmd>: message") and returns the process exit
 * code (0 ok, 1 failure, 2 usage error). See README.md in this folder. */
#ifndef TRN_DATAIO_H
#define TRN_DATAIO_H

#include <stddef.h>

int trn_cmd_generate(int argc, char **argv);
int trn_cmd_import(int argc, char **argv);

/* trn_import_each: the importer without a database: parses the same flags as `rs-train import`
 * (argv[0] is ignored; --dsn/--out are not needed) and hands every catalog row and event to fns
 * (see dio.h). 0, or RS_E* with a one-line message in err (usage errors are RS_EINVAL). */
struct dio_sink_fns;
int trn_import_each(int argc, char **argv, const struct dio_sink_fns *fns, char *err, size_t errn);

#endif
