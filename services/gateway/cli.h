/* cli: the account tooling of rs-gateway (main.c hands it any command line with arguments).
 *
 *   rs-gateway account demo --dsn DSN --password-file F
 *   rs-gateway account set  --dsn DSN --login L --role admin|customer [--user-id N]
 *                           [--display-name S] --password-file F
 *   rs-gateway apikey create --dsn DSN --name NAME --key-file F
 *   rs-gateway apikey revoke --dsn DSN (--name NAME | --key-file F)
 *   rs-gateway apikey list   --dsn DSN
 *
 * --dsn defaults to $RS_PG_DSN. Passwords and keys are read from files (never from the command
 * line, which other users can see in the process list). Messages go to stderr; errors name the
 * problem. */
#ifndef GW_CLI_H
#define GW_CLI_H

/* gw_cli_main: run the command in argv[1..]; returns the exit status (0 done, 1 failed, 2 bad
 * usage). */
int gw_cli_main(int argc, char **argv);

#endif
