#include "cli.h"
#include "account.h"
#include "auth.h"
#include "util.h"
#include "rs_pg.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Accounts made for staff (admins) without --user-id get ids above this one. Below 2^53, so a
 * browser reads them exactly. */
#define CLI_STAFF_IDS "1000000000000"

#define CLI_FILE_MAX 4096
#define CLI_KEY_MIN  16
#define CLI_KEY_MAX  512

static const char cli_usage[] =
        "usage: rs-gateway                 run the gateway (configured by RS_* variables; see "
        "services/gateway/README.md)\n"
        "       rs-gateway account demo --dsn DSN --password-file F\n"
        "           every customer without a login gets one (lower(external_id), else "
        "customer<id>)\n"
        "           and the password in F (one argon2id hash shared by all of them)\n"
        "       rs-gateway account set --dsn DSN --login L --role admin|customer [--user-id N]\n"
        "                              [--display-name S] --password-file F\n"
        "           creates or updates the account with login L (a new one gets user id N, or "
        "the\n"
        "           largest user id + 1)\n"
        "       rs-gateway apikey create --dsn DSN --name NAME --key-file F\n"
        "           stores the hash of the key in F; writes a new random key to F (mode 0600) "
        "when F\n"
        "           is missing or empty; nothing to do when F's key is stored already\n"
        "       rs-gateway apikey revoke --dsn DSN (--name NAME | --key-file F)\n"
        "       rs-gateway apikey list --dsn DSN\n"
        "--dsn defaults to $RS_PG_DSN. Passwords need at least 8 characters; a file's trailing "
        "newline is ignored.\n";

typedef struct cli_opts {
	const char *dsn, *password_file, *login, *role, *user_id, *display_name, *name, *key_file;
} cli_opts;

static int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
cli_fail(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "rs-gateway %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* Reads a small text file into buf (NUL-terminated, one trailing newline dropped).
 * 0, 1 (missing), or -1 (message printed). */
static int
cli_read_file(const char *cmd, const char *opt, const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 1;
	if (fd < 0) {
		cli_fail(cmd, "cannot open %s %s: %s", opt, path, strerror(errno));
		return -1;
	}
	ssize_t len = read(fd, buf, n - 1);
	close(fd);
	if (len < 0) {
		cli_fail(cmd, "cannot read %s %s: %s", opt, path, strerror(errno));
		return -1;
	}
	if ((size_t) len == n - 1) {
		cli_fail(cmd, "%s %s is larger than %zu bytes", opt, path, n - 2);
		return -1;
	}
	buf[len] = '\0';
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	return 0;
}

/* The password in path, checked and hashed into hash (n bytes); the password itself is wiped.
 * 0, or 1 (message printed). */
static int
cli_password_hash(const char *cmd, const char *path, char *hash, size_t n)
{
	char pw[GW_PASSWORD_MAX + 2];
	int bad = 1;
	int rv = cli_read_file(cmd, "--password-file", path, pw, sizeof(pw));
	if (rv == 1) {
		cli_fail(cmd, "--password-file %s does not exist", path);
	} else if (rv == 0) {
		size_t len = strlen(pw);
		if (len < GW_PASSWORD_MIN || len > GW_PASSWORD_MAX || strchr(pw, '\n') != NULL)
			cli_fail(cmd, "the password in %s must be one line of %d-%d bytes", path,
			         GW_PASSWORD_MIN, GW_PASSWORD_MAX);
		else if (gw_password_hash(pw, hash, n) != 0)
			cli_fail(cmd, "out of memory while hashing the password");
		else
			bad = 0;
	}
	sodium_memzero(pw, sizeof(pw));
	return bad;
}

static PGconn *
cli_connect(const char *cmd, const char *dsn)
{
	if (dsn == NULL || dsn[0] == '\0') {
		cli_fail(cmd, "no database: give --dsn DSN or set RS_PG_DSN");
		return NULL;
	}
	PGconn *c = PQconnectdb(dsn);
	if (PQstatus(c) != CONNECTION_OK) {
		cli_fail(cmd, "cannot connect to PostgreSQL (--dsn): %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	PQclear(PQexec(c, "set client_min_messages = warning"));
	return c;
}

/* Runs sql; the result when its status is want, else NULL after printing the error. */
static PGresult *
cli_exec(const char *cmd, PGconn *c, const char *sql, int n, const char *const *params,
         ExecStatusType want)
{
	PGresult *res = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
	if (rs_pg_result(c, res, want) == 0)
		return res;
	const char *state = rs_pg_sqlstate(res);
	cli_fail(cmd, "%s%s", PQresultErrorMessage(res),
	         state != NULL && (strcmp(state, "42703") == 0 || strcmp(state, "42P01") == 0)
	                 ? "(apply the migrations first: scripts/migrate.sh)"
	                 : "");
	PQclear(res);
	return NULL;
}

/* The end of a command: its last result (may be NULL) cleared, the connection closed; rc. */
static int
cli_end(PGconn *c, PGresult *res, int rc)
{
	PQclear(res);
	PQfinish(c);
	return rc;
}

static int
cli_account_demo(const cli_opts *o)
{
	const char *cmd = "account demo";
	char hash[GW_PWHASH_STRBYTES];
	if (o->password_file == NULL)
		return cli_fail(cmd, "--password-file F is required");
	PGconn *c = cli_connect(cmd, o->dsn);
	if (c == NULL)
		return 1;
	if (cli_password_hash(cmd, o->password_file, hash, sizeof(hash)) != 0)
		return cli_end(c, NULL, 1);
	/* lower(external_id) when it is a valid login nobody else has or would get, else
	 * customer<id>. */
	PGresult *res = cli_exec(
	        cmd, c,
	        "with cand as (select user_id, lower(external_id) as l, "
	        "                     count(*) over (partition by lower(external_id)) as n "
	        "              from users where login is null and role = 'customer') "
	        "update users u set password_hash = $1, "
	        "       login = case when c.l ~ '^[!-~]{1,64}$' and c.n = 1 "
	        "                     and not exists (select 1 from users x where x.login = c.l) "
	        "                    then c.l else 'customer' || u.user_id end "
	        "from cand c where u.user_id = c.user_id",
	        1, (const char *const[]){hash}, PGRES_COMMAND_OK);
	if (res != NULL)
		fprintf(stderr,
		        "rs-gateway %s: %s customers without a login got one (password from %s)\n",
		        cmd, PQcmdTuples(res), o->password_file);
	return cli_end(c, res, res != NULL ? 0 : 1);
}

static int
cli_account_set(const cli_opts *o)
{
	const char *cmd = "account set";
	char login[GW_LOGIN_MAX + 1], hash[GW_PWHASH_STRBYTES], uid[24];
	int64_t want_id = 0;
	int rc = 1;
	PGresult *res = NULL;

	if (o->login == NULL || o->role == NULL || o->password_file == NULL)
		return cli_fail(cmd, "--login, --role and --password-file are required");
	if (gw_login_normalize(o->login, login, sizeof(login)) != 0)
		return cli_fail(cmd,
		                "--login must be 1-%d printable ASCII characters without spaces",
		                GW_LOGIN_MAX);
	if (strcmp(o->role, "admin") != 0 && strcmp(o->role, "customer") != 0)
		return cli_fail(cmd, "--role must be admin or customer, not \"%s\"", o->role);
	if (o->user_id != NULL && gw_parse_id(o->user_id, &want_id) != 0)
		return cli_fail(cmd, "--user-id must be a positive integer, not \"%s\"",
		                o->user_id);
	if (o->display_name != NULL && strlen(o->display_name) > 200)
		return cli_fail(cmd, "--display-name is longer than 200 bytes");
	PGconn *c = cli_connect(cmd, o->dsn);
	if (c == NULL)
		return 1;
	if (cli_password_hash(cmd, o->password_file, hash, sizeof(hash)) != 0 ||
	    (res = cli_exec(cmd, c, "begin", 0, NULL, PGRES_COMMAND_OK)) == NULL)
		goto out;
	PQclear(res);
	/* The row that has this login, or the one with --user-id, or a new one. */
	res = cli_exec(cmd, c,
	               "select user_id, login from users where login = $1 or user_id = $2 "
	               "order by login = $1 desc nulls last for update",
	               2, (const char *const[]){login, o->user_id != NULL ? o->user_id : "0"},
	               PGRES_TUPLES_OK);
	if (res == NULL)
		goto rollback;
	int64_t id = 0;
	const char *what = "created";
	if (PQntuples(res) > 0) {
		id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		const char *has = PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1);
		if (has != NULL && strcmp(has, login) == 0 && want_id != 0 && id != want_id) {
			cli_fail(cmd, "login %s belongs to user %lld, not %lld", login,
			         (long long) id, (long long) want_id);
			goto rollback;
		}
		if (has != NULL && strcmp(has, login) != 0) {
			cli_fail(cmd, "user %lld already has the login %s", (long long) id, has);
			goto rollback;
		}
		what = has != NULL ? "updated" : "created";
	}
	PQclear(res);
	res = NULL;
	if (id == 0 && want_id != 0)
		id = want_id;
	if (id == 0) {
		/* A new customer takes the next id; a new admin one from CLI_STAFF_IDS up, so no
		 * customer's events (whose ids the marketplace assigns) ever land on an operator.
		 */
		const char *sql =
		        strcmp(o->role, "admin") == 0
		                ? "select greatest(coalesce(max(user_id), 0), " CLI_STAFF_IDS
		                  ") + 1 from users where user_id > " CLI_STAFF_IDS
		                : "select coalesce(max(user_id), 0) + 1 from users "
		                  "where user_id <= " CLI_STAFF_IDS;
		res = cli_exec(cmd, c, sql, 0, NULL, PGRES_TUPLES_OK);
		if (res == NULL)
			goto rollback;
		id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
	}
	snprintf(uid, sizeof(uid), "%lld", (long long) id);
	res = cli_exec(cmd, c,
	               "insert into users (user_id, login, password_hash, role, display_name) "
	               "values ($1, $2, $3, $4, $5) on conflict (user_id) do update set "
	               "login = excluded.login, password_hash = excluded.password_hash, "
	               "role = excluded.role, "
	               "display_name = coalesce(excluded.display_name, users.display_name)",
	               5, (const char *const[]){uid, login, hash, o->role, o->display_name},
	               PGRES_COMMAND_OK);
	if (res == NULL)
		goto rollback;
	PQclear(res);
	if ((res = cli_exec(cmd, c, "commit", 0, NULL, PGRES_COMMAND_OK)) == NULL)
		goto out;
	fprintf(stderr, "rs-gateway %s: login %s (user %lld, %s) %s\n", cmd, login, (long long) id,
	        o->role, what);
	rc = 0;
	goto out;
rollback:
	PQclear(PQexec(c, "rollback"));
out:
	return cli_end(c, res, rc);
}

/* A new key into path: "rsk_" + 43 base64url characters (32 random bytes); the file is made
 * 0600 (created, or an empty one truncated). 0 or -1 (message printed). */
static int
cli_key_write(const char *cmd, const char *path, int exists, char *key, size_t n)
{
	unsigned char raw[32];
	randombytes_buf(raw, sizeof(raw));
	memcpy(key, "rsk_", 4);
	sodium_bin2base64(key + 4, n - 4, raw, sizeof(raw),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	int fd = exists ? open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)
	                : open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	size_t len = strlen(key);
	int ok = fd >= 0 && fchmod(fd, 0600) == 0 && write(fd, key, len) == (ssize_t) len &&
	         write(fd, "\n", 1) == 1 && fsync(fd) == 0;
	if (fd >= 0)
		ok = close(fd) == 0 && ok;
	if (!ok)
		return cli_fail(cmd, "cannot write --key-file %s: %s", path, strerror(errno)), -1;
	return 0;
}

/* The key in path (0), or -1 (message printed); *created = 1 when it was made now. */
static int
cli_key(const char *cmd, const char *path, char *key, size_t n, int *created)
{
	int rv = cli_read_file(cmd, "--key-file", path, key, n);
	*created = 0;
	if (rv < 0)
		return -1;
	if (rv == 1 || key[0] == '\0') {
		*created = 1;
		return cli_key_write(cmd, path, rv == 0, key, n);
	}
	size_t len = strlen(key);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char) key[i] <= ' ' || (unsigned char) key[i] > '~')
			len = 0;
	if (len < CLI_KEY_MIN || len > CLI_KEY_MAX)
		return cli_fail(cmd,
		                "--key-file %s must hold one key of %d-%d printable characters "
		                "without spaces",
		                path, CLI_KEY_MIN, CLI_KEY_MAX),
		       -1;
	return 0;
}

static void
cli_key_hex(const char *key, char *hex, size_t n)
{
	unsigned char h[GW_APIKEY_HASHBYTES];
	gw_apikey_hash(key, h);
	sodium_bin2hex(hex, n, h, sizeof(h));
}

static int
cli_apikey_create(const cli_opts *o)
{
	const char *cmd = "apikey create";
	char key[CLI_KEY_MAX + 2], hex[2 * GW_APIKEY_HASHBYTES + 1];
	int created, rc = 1;

	if (o->name == NULL || o->key_file == NULL)
		return cli_fail(cmd, "--name and --key-file are required");
	if (strlen(o->name) < 1 || strlen(o->name) > 100)
		return cli_fail(cmd, "--name must be 1-100 bytes");
	PGconn *c = cli_connect(cmd, o->dsn);
	if (c == NULL)
		return 1;
	if (cli_key(cmd, o->key_file, key, sizeof(key), &created) != 0) {
		PQfinish(c);
		return 1;
	}
	cli_key_hex(key, hex, sizeof(hex));
	sodium_memzero(key, sizeof(key));
	PGresult *res = cli_exec(cmd, c,
	                         "insert into api_keys (name, key_hash) values ($1, decode($2, "
	                         "'hex')) on conflict (key_hash) do nothing returning id",
	                         2, (const char *const[]){o->name, hex}, PGRES_TUPLES_OK);
	if (res != NULL && PQntuples(res) == 1) {
		fprintf(stderr, "rs-gateway %s: key %s stored as \"%s\" (id %s)%s\n", cmd,
		        o->key_file, o->name, PQgetvalue(res, 0, 0),
		        created ? "; the key was written to the file (mode 0600)" : "");
		rc = 0;
	} else if (res != NULL) {
		PQclear(res);
		res = cli_exec(cmd, c,
		               "select name, revoked_at is not null from api_keys "
		               "where key_hash = decode($1, 'hex')",
		               1, (const char *const[]){hex}, PGRES_TUPLES_OK);
		if (res != NULL && PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 1), "t") == 0)
			cli_fail(
			        cmd,
			        "the key in %s was revoked; empty or delete the file for a new one",
			        o->key_file);
		else if (res != NULL && PQntuples(res) == 1) {
			fprintf(stderr,
			        "rs-gateway %s: the key in %s is stored already (as \"%s\")\n", cmd,
			        o->key_file, PQgetvalue(res, 0, 0));
			rc = 0;
		}
	}
	return cli_end(c, res, rc);
}

static int
cli_apikey_revoke(const cli_opts *o)
{
	const char *cmd = "apikey revoke";
	char key[CLI_KEY_MAX + 2], hex[2 * GW_APIKEY_HASHBYTES + 1] = "";

	if ((o->name == NULL) == (o->key_file == NULL))
		return cli_fail(cmd, "give --name NAME or --key-file F");
	if (o->key_file != NULL) {
		int rv = cli_read_file(cmd, "--key-file", o->key_file, key, sizeof(key));
		if (rv == 1 || (rv == 0 && key[0] == '\0'))
			return cli_fail(cmd, "--key-file %s holds no key", o->key_file);
		if (rv != 0)
			return 1;
		cli_key_hex(key, hex, sizeof(hex));
		sodium_memzero(key, sizeof(key));
	}
	PGconn *c = cli_connect(cmd, o->dsn);
	if (c == NULL)
		return 1;
	PGresult *res = cli_exec(cmd, c,
	                         "update api_keys set revoked_at = now() where revoked_at is null "
	                         "and (name = $1 or key_hash = decode($2, 'hex'))",
	                         2, (const char *const[]){o->name != NULL ? o->name : "", hex},
	                         PGRES_COMMAND_OK);
	int rc = 1;
	if (res != NULL && strcmp(PQcmdTuples(res), "0") == 0)
		cli_fail(cmd, "no live key %s %s", o->name != NULL ? "named" : "from",
		         o->name != NULL ? o->name : o->key_file);
	else if (res != NULL) {
		fprintf(stderr,
		        "rs-gateway %s: %s key(s) revoked (gateways refuse them within "
		        "RS_GATEWAY_AUTH_REFRESH_MS)\n",
		        cmd, PQcmdTuples(res));
		rc = 0;
	}
	return cli_end(c, res, rc);
}

static int
cli_apikey_list(const cli_opts *o)
{
	const char *cmd = "apikey list";
	PGconn *c = cli_connect(cmd, o->dsn);
	if (c == NULL)
		return 1;
	PGresult *res = cli_exec(cmd, c,
	                         "select id, name, to_char(created_at, 'YYYY-MM-DD HH24:MI:SS'), "
	                         "coalesce(to_char(revoked_at, 'YYYY-MM-DD HH24:MI:SS'), '-') "
	                         "from api_keys order by id",
	                         0, NULL, PGRES_TUPLES_OK);
	if (res != NULL) {
		printf("id\tname\tcreated\trevoked\n");
		for (int i = 0; i < PQntuples(res); i++)
			printf("%s\t%s\t%s\t%s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
			       PQgetvalue(res, i, 2), PQgetvalue(res, i, 3));
	}
	return cli_end(c, res, res != NULL ? 0 : 1);
}

int
gw_cli_main(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"dsn", required_argument, NULL, 'd'},
	        {"password-file", required_argument, NULL, 'p'},
	        {"login", required_argument, NULL, 'l'},
	        {"role", required_argument, NULL, 'r'},
	        {"user-id", required_argument, NULL, 'u'},
	        {"display-name", required_argument, NULL, 'n'},
	        {"name", required_argument, NULL, 'N'},
	        {"key-file", required_argument, NULL, 'k'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	cli_opts o = {.dsn = getenv("RS_PG_DSN")};
	const char *group = argc > 1 ? argv[1] : "", *verb = argc > 2 ? argv[2] : "";

	if (strcmp(group, "--help") == 0 || strcmp(group, "-h") == 0 ||
	    strcmp(group, "help") == 0) {
		fputs(cli_usage, stdout);
		return 0;
	}
	int account = strcmp(group, "account") == 0, apikey = strcmp(group, "apikey") == 0;
	int known = (account && (strcmp(verb, "demo") == 0 || strcmp(verb, "set") == 0)) ||
	            (apikey && (strcmp(verb, "create") == 0 || strcmp(verb, "revoke") == 0 ||
	                        strcmp(verb, "list") == 0));
	if (!known) {
		if ((account || apikey) &&
		    (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0)) {
			fputs(cli_usage, stdout);
			return 0;
		}
		fprintf(stderr, "rs-gateway: unknown command \"%s%s%s\"\n%s", group,
		        account || apikey ? " " : "", account || apikey ? verb : "", cli_usage);
		return 2;
	}
	/* argv + 2: the verb plays the program name; optind = 0 makes glibc start afresh (the
	 * tests call this more than once per process). */
	int oargc = argc - 2;
	char **oargv = argv + 2;
	optind = 0;
	opterr = 0;
	for (int ch; (ch = getopt_long(oargc, oargv, "", longopts, NULL)) != -1;) {
		switch (ch) {
		case 'd':
			o.dsn = optarg;
			break;
		case 'p':
			o.password_file = optarg;
			break;
		case 'l':
			o.login = optarg;
			break;
		case 'r':
			o.role = optarg;
			break;
		case 'u':
			o.user_id = optarg;
			break;
		case 'n':
			o.display_name = optarg;
			break;
		case 'N':
			o.name = optarg;
			break;
		case 'k':
			o.key_file = optarg;
			break;
		case 'h':
			fputs(cli_usage, stdout);
			return 0;
		default:
			fprintf(stderr, "rs-gateway %s %s: unknown option or missing value: %s\n%s",
			        group, verb, oargv[optind - 1], cli_usage);
			return 2;
		}
	}
	if (optind < oargc) {
		fprintf(stderr, "rs-gateway %s %s: unexpected argument \"%s\"\n", group, verb,
		        oargv[optind]);
		return 2;
	}
	if (account)
		return strcmp(verb, "demo") == 0 ? cli_account_demo(&o) : cli_account_set(&o);
	if (strcmp(verb, "create") == 0)
		return cli_apikey_create(&o);
	return strcmp(verb, "revoke") == 0 ? cli_apikey_revoke(&o) : cli_apikey_list(&o);
}
