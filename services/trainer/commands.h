/* commands: the rs-train subcommands. Each takes argc/argv after the subcommand name,
 * prints its own --help, reports errors once on stderr ("rs-train <cmd>: message") and
 * returns the process exit code (0 ok, 1 failure, 2 usage error). */
#ifndef TR_COMMANDS_H
#define TR_COMMANDS_H

int tr_cmd_fit(int argc, char **argv);
int tr_cmd_recommend(int argc, char **argv);
int tr_cmd_evaluate(int argc, char **argv);
int tr_cmd_split(int argc, char **argv);
int tr_cmd_tune(int argc, char **argv);
int tr_cmd_synth(int argc, char **argv);
int tr_cmd_publish(int argc, char **argv);
int tr_cmd_pipeline(int argc, char **argv);

#endif
