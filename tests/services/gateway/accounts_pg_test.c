/* Accounts against a real PostgreSQL schema built by the migrations (tests/support/pg_fixture.h,
 * so 0004_accounts is applied the way every suite applies migrations): the schema's rules, the
 * account tooling (gw_cli_main, what `rs-gateway account|apikey` runs) and the gateway's
 * background load of API keys and revoked sessions (gw_authstore_load). */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "authstore.h"
#include "cli.h"
#include "db.h"
#include "pg_fixture.h"
#include "rs_log.h"

static fx_pg fx;
static char dir[] = "/tmp/rs-gw-acc-XXXXXX";

static void
setup(void)
{
	rs_log_init("gateway-accounts-test", RS_LOG_ERROR);
	cr_assert_geq(sodium_init(), 0);
	fx_pg_setup(&fx, "gw_acc");
	cr_assert_not_null(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[300];
	fx_pg_teardown(&fx);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(accounts_pg, .init = setup, .fini = teardown, .timeout = 60);

/* The first column of the first row of sql as text ("" when no row). */
static void
value(const char *sql, char *out, size_t n)
{
	PGresult *r = PQexec(fx.conn, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	snprintf(out, n, "%s", PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
}

static int
fails(const char *sql)
{
	PGresult *r = PQexec(fx.conn, sql);
	int bad = PQresultStatus(r) != PGRES_COMMAND_OK;
	PQclear(r);
	return bad;
}

static void
write_file(const char *name, const char *text, char *path, size_t n)
{
	snprintf(path, n, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

/* gw_cli_main with a NULL-terminated argument list after "rs-gateway"; --dsn is added. */
static int
cli(const char *a1, ...)
{
	char *argv[24];
	int argc = 0;
	va_list ap;
	argv[argc++] = "rs-gateway";
	argv[argc++] = (char *) a1;
	va_start(ap, a1);
	for (const char *a; (a = va_arg(ap, const char *)) != NULL && argc < 20;)
		argv[argc++] = (char *) a;
	va_end(ap);
	argv[argc++] = "--dsn";
	argv[argc++] = fx.dsn;
	argv[argc] = NULL;
	return gw_cli_main(argc, argv);
}

Test(accounts_pg, the_schema_keeps_logins_lower_case_unique_and_hashes_sized)
{
	fx_sql(&fx, "insert into users (user_id, login) values (1, 'alice')");
	cr_assert(fails("insert into users (user_id, login) values (2, 'Bob')"), "upper case");
	cr_assert(fails("insert into users (user_id, login) values (2, 'alice')"), "duplicate");
	cr_assert(fails("insert into users (user_id, login) values (2, 'a b')"), "space");
	cr_assert(fails("insert into users (user_id, login) values (2, '')"), "empty");
	cr_assert(fails("insert into api_keys (name, key_hash) values ('k', '\\x01')"),
	          "a 1-byte hash");
	cr_assert(fails("insert into sessions_revoked (session_id, expires_at) values ('\\x01', "
	                "now())"),
	          "a 1-byte session id");
	fx_sql(&fx, "insert into users (user_id) values (3), (4)"); /* no login: fine, twice */
}

Test(accounts_pg, demo_accounts_share_one_hash_and_reruns_change_nothing)
{
	char pw[256], v[256];
	fx_sql(&fx, "insert into users (user_id, external_id, display_name) values "
	            "(1, 'CUST-000001', 'Ann'), (2, 'cust-000002', 'Bo'), (3, NULL, 'Cy'), "
	            "(4, 'Has Space', 'Di'), (5, 'dup', 'E1'), (6, 'DUP', 'E2')");
	fx_sql(&fx, "insert into users (user_id, external_id, role, login) values "
	            "(7, 'boss', 'admin', null), (8, 'x', 'customer', 'taken')");
	write_file("demo-password", "demo-pass-123\n", pw, sizeof(pw));
	cr_assert_eq(cli("account", "demo", "--password-file", pw, NULL), 0);
	value("select string_agg(user_id || '=' || coalesce(login, '-'), ' ' order by user_id) "
	      "from users",
	      v, sizeof(v));
	/* lower(external_id) when valid and unambiguous, else customer<id>; an admin and a user
	 * that has a login are left alone */
	cr_assert_str_eq(v, "1=cust-000001 2=cust-000002 3=customer3 4=customer4 5=customer5 "
	                    "6=customer6 7=- 8=taken");
	value("select count(distinct password_hash) from users where login like 'cust%'", v,
	      sizeof(v));
	cr_assert_str_eq(v, "1", "one shared hash");
	value("select password_hash from users where user_id = 1", v, sizeof(v));
	cr_assert_eq(strncmp(v, "$argon2id$", 10), 0, "%s", v);
	cr_assert_eq(crypto_pwhash_str_verify(v, "demo-pass-123", 13), 0, "the newline is dropped");
	cr_assert_neq(crypto_pwhash_str_verify(v, "demo-pass-124", 13), 0);
	cr_assert_eq(cli("account", "demo", "--password-file", pw, NULL), 0);
	char again[256];
	value("select password_hash from users where user_id = 1", again, sizeof(again));
	cr_assert_str_eq(again, v, "a re-run rehashed existing accounts");
	/* bad input: a short password, a missing file */
	char shortpw[256];
	write_file("short", "short", shortpw, sizeof(shortpw));
	cr_assert_eq(cli("account", "demo", "--password-file", shortpw, NULL), 1);
	cr_assert_eq(cli("account", "demo", "--password-file", "/nonexistent/pw", NULL), 1);
	cr_assert_eq(cli("account", "demo", NULL), 1);
}

Test(accounts_pg, account_set_creates_updates_and_refuses_conflicts)
{
	char pw[256], pw2[256], v[256];
	fx_sql(&fx, "insert into users (user_id, login) values (10, 'other')");
	write_file("pw", "admin-pass-1", pw, sizeof(pw));
	write_file("pw2", "admin-pass-2", pw2, sizeof(pw2));
	cr_assert_eq(cli("account", "set", "--login", "Admin", "--role", "admin", "--display-name",
	                 "The Admin", "--password-file", pw, NULL),
	             0);
	value("select user_id || ' ' || login || ' ' || role || ' ' || display_name from users "
	      "where login = 'admin'",
	      v, sizeof(v));
	cr_assert_str_eq(v, "1000000000001 admin admin The Admin",
	                 "a new admin takes the first staff id, lower-cased login");
	/* update: a new password, the display name kept */
	cr_assert_eq(cli("account", "set", "--login", "admin", "--role", "admin", "--password-file",
	                 pw2, NULL),
	             0);
	value("select password_hash from users where login = 'admin'", v, sizeof(v));
	cr_assert_eq(crypto_pwhash_str_verify(v, "admin-pass-2", 12), 0);
	value("select display_name from users where login = 'admin'", v, sizeof(v));
	cr_assert_str_eq(v, "The Admin");
	/* a given user id; conflicts are refused and change nothing */
	cr_assert_eq(cli("account", "set", "--login", "c42", "--role", "customer", "--user-id",
	                 "42", "--password-file", pw, NULL),
	             0);
	/* a new customer takes the next customer id, below the staff ids */
	cr_assert_eq(cli("account", "set", "--login", "newcust", "--role", "customer",
	                 "--password-file", pw, NULL),
	             0);
	value("select user_id from users where login = 'newcust'", v, sizeof(v));
	cr_assert_str_eq(v, "43", "largest customer id + 1");
	cr_assert_eq(cli("account", "set", "--login", "admin", "--role", "admin", "--user-id", "42",
	                 "--password-file", pw, NULL),
	             1, "the login belongs to another user");
	cr_assert_eq(cli("account", "set", "--login", "new", "--role", "customer", "--user-id",
	                 "10", "--password-file", pw, NULL),
	             1, "user 10 has a login");
	cr_assert_eq(cli("account", "set", "--login", "x", "--role", "boss", "--password-file", pw,
	                 NULL),
	             1);
	cr_assert_eq(cli("account", "set", "--login", "a b", "--role", "admin", "--password-file",
	                 pw, NULL),
	             1);
	cr_assert_eq(cli("account", "set", "--login", "x", "--role", "admin", "--user-id", "-1",
	                 "--password-file", pw, NULL),
	             1);
	value("select count(*) from users", v, sizeof(v));
	cr_assert_str_eq(v, "4");
	value("select login from users where user_id = 10", v, sizeof(v));
	cr_assert_str_eq(v, "other");
	cr_assert_eq(cli("account", "bogus", NULL), 2);
	cr_assert_eq(cli("account", "set", "--nope", NULL), 2);
}

Test(accounts_pg, apikey_create_is_idempotent_and_the_gateway_loads_what_is_live)
{
	char keyfile[256], key[128], hex[65], v[256];
	struct stat sb;
	snprintf(keyfile, sizeof(keyfile), "%s/api-key", dir);
	cr_assert_eq(cli("apikey", "create", "--name", "shop", "--key-file", keyfile, NULL), 0);
	cr_assert_eq(stat(keyfile, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600);
	FILE *f = fopen(keyfile, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(key, sizeof(key), f));
	fclose(f);
	key[strcspn(key, "\n")] = '\0';
	cr_assert_eq(strlen(key), 4 + 43, "%s", key);
	cr_assert_eq(strncmp(key, "rsk_", 4), 0);
	/* only the SHA-256 is stored */
	unsigned char h[GW_APIKEY_HASHBYTES];
	gw_apikey_hash(key, h);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	value("select encode(key_hash, 'hex') from api_keys where name = 'shop'", v, sizeof(v));
	cr_assert_str_eq(v, hex);
	unsigned char sha[32];
	crypto_hash_sha256(sha, (const unsigned char *) key, strlen(key));
	cr_assert_arr_eq(sha, h, 32, "the hash is SHA-256");
	/* a re-run stores nothing new and keeps the file */
	cr_assert_eq(cli("apikey", "create", "--name", "shop", "--key-file", keyfile, NULL), 0);
	value("select count(*) from api_keys", v, sizeof(v));
	cr_assert_str_eq(v, "1");
	/* a key of one's own choosing in a file */
	char own[256], other[256];
	write_file("own-key", "my-own-key-0123456789\n", own, sizeof(own));
	cr_assert_eq(cli("apikey", "create", "--name", "own", "--key-file", own, NULL), 0);
	write_file("bad-key", "short\n", other, sizeof(other));
	cr_assert_eq(cli("apikey", "create", "--name", "bad", "--key-file", other, NULL), 1);

	/* revoked and expired rows: what the gateway's reload keeps */
	fx_sql(&fx, "insert into sessions_revoked (session_id, expires_at) values "
	            "('\\xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', now() + interval '1 hour'), "
	            "('\\xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', now() - interval '1 second')");
	gw_db *db;
	gw_authstore *st;
	cr_assert_eq(gw_db_open(&db, fx.dsn, 1, 2000), 0);
	cr_assert_eq(gw_authstore_create(&st), 0);
	cr_assert_eq(gw_authstore_load(st, db), 0);
	char name[GW_APIKEY_NAME_MAX];
	cr_assert_eq(gw_authstore_key_find(st, h, name, sizeof(name)), 1);
	cr_assert_str_eq(name, "shop");
	unsigned char live[16], gone[16];
	memset(live, 0xaa, 16);
	memset(gone, 0xbb, 16);
	cr_assert_eq(gw_authstore_is_revoked(st, live), 1);
	cr_assert_eq(gw_authstore_is_revoked(st, gone), 0, "an expired row still counted");
	size_t nk, nr;
	gw_authstore_counts(st, &nk, &nr);
	cr_assert_eq(nk, 2);
	cr_assert_eq(nr, 1);
	/* revoke: the next reload drops the key */
	cr_assert_eq(cli("apikey", "revoke", "--key-file", keyfile, NULL), 0);
	cr_assert_eq(cli("apikey", "revoke", "--key-file", keyfile, NULL), 1, "already revoked");
	cr_assert_eq(gw_authstore_load(st, db), 0);
	cr_assert_eq(gw_authstore_key_find(st, h, NULL, 0), 0);
	gw_authstore_counts(st, &nk, &nr);
	cr_assert_eq(nk, 1);
	/* a revoked key in the file is refused by create, too */
	cr_assert_eq(cli("apikey", "create", "--name", "shop", "--key-file", keyfile, NULL), 1);
	cr_assert_eq(cli("apikey", "revoke", "--name", "own", NULL), 0);
	cr_assert_eq(gw_authstore_load(st, db), 0);
	gw_authstore_counts(st, &nk, &nr);
	cr_assert_eq(nk, 0);
	gw_authstore_destroy(st);
	gw_db_close(db);
}
