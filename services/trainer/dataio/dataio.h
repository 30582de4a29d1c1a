/* trainer_dataio: the data entry points of rs-train.
 *   rs-train generate  a synthetic marketplace (catalog, users, sessions) -> PostgreSQL and/or CSV
 *   rs-train import    public datasets (MovieLens, RetailRocket, sequence files, generic CSV)
 * Each takes argc/argv after the subcommand name (argv[0] is the subcommand), prints its own
 * --help, reports errors once on stderr ("rs-train <cmd>: message") and returns the process exit
 * code (0 ok, 1 failure, 2 usage error). See README.md in this folder. */
#ifndef TRN_DATAIO_H
#define TRN_DATAIO_H

int trn_cmd_generate(int argc, char **argv);
int trn_cmd_import(int argc, char **argv);

#endif
