#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "rs_cfg.h"
#include "rs_err.h"

typedef struct t_config {
	const char *listen;
	const char *dsn;
	int workers;
	double ratio;
	rs_log_level level;
	int mode;
} t_config;

static const rs_cfg_field t_fields[] = {
        RS_CFG_STR("RS_T_LISTEN", t_config, listen, "tcp://127.0.0.1:1"),
        RS_CFG_SECRET("RS_T_DSN", t_config, dsn, NULL),
        RS_CFG_INT("RS_T_WORKERS", t_config, workers, 4, 1, 64),
        RS_CFG_DOUBLE("RS_T_RATIO", t_config, ratio, 0.5, 0, 1),
        RS_CFG_LEVEL("RS_T_LEVEL", t_config, level, "info"),
        RS_CFG_ENUM("RS_T_MODE", t_config, mode, "fast", "fast,safe,slow"),
        RS_CFG_END,
};

static void
clear_env(void)
{
	unsetenv("RS_T_LISTEN");
	unsetenv("RS_T_DSN");
	unsetenv("RS_T_WORKERS");
	unsetenv("RS_T_RATIO");
	unsetenv("RS_T_LEVEL");
	unsetenv("RS_T_MODE");
}

TestSuite(cfg, .init = clear_env, .fini = clear_env);

Test(cfg, defaults_apply_when_unset)
{
	t_config c;
	char err[256];
	setenv("RS_T_DSN", "host=x", 1);
	cr_assert_eq(rs_cfg_load(t_fields, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(c.listen, "tcp://127.0.0.1:1");
	cr_assert_eq(c.workers, 4);
	cr_assert_float_eq(c.ratio, 0.5, 1e-12);
	cr_assert_eq(c.level, RS_LOG_INFO);
}

Test(cfg, required_variable_is_named)
{
	t_config c;
	char err[256];
	cr_assert_eq(rs_cfg_load(t_fields, &c, err, sizeof(err)), RS_EINVAL);
	cr_assert(strstr(err, "RS_T_DSN") != NULL, "%s", err);
	cr_assert(strstr(err, "required") != NULL, "%s", err);
}

Test(cfg, out_of_range_and_garbage_are_rejected)
{
	t_config c;
	char err[256];
	setenv("RS_T_DSN", "host=x", 1);
	setenv("RS_T_WORKERS", "65", 1);
	cr_assert_eq(rs_cfg_load(t_fields, &c, err, sizeof(err)), RS_EINVAL);
	cr_assert(strstr(err, "RS_T_WORKERS=65") != NULL, "%s", err);
	setenv("RS_T_WORKERS", "4x", 1);
	cr_assert_eq(rs_cfg_load(t_fields, &c, err, sizeof(err)), RS_EINVAL);
	cr_assert(strstr(err, "not an integer") != NULL, "%s", err);
	setenv("RS_T_WORKERS", "8", 1);
	setenv("RS_T_LEVEL", "loud", 1);
	cr_assert_eq(rs_cfg_load(t_fields, &c, err, sizeof(err)), RS_EINVAL);
	cr_assert(strstr(err, "RS_T_LEVEL") != NULL, "%s", err);
	setenv("RS_T_LEVEL", "debug", 1);
	cr_assert_eq(rs_cfg_load(t_fields, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.workers, 8);
	cr_assert_eq(c.level, RS_LOG_DEBUG);
}

Test(cfg, an_enum_takes_exactly_one_of_its_names)
{
	t_config c;
	char err[256];
	setenv("RS_T_DSN", "host=x", 1);
	cr_assert_eq(rs_cfg_load(t_fields, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.mode, 0); /* the default, "fast" */
	setenv("RS_T_MODE", "slow", 1);
	cr_assert_eq(rs_cfg_load(t_fields, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.mode, 2);
	setenv("RS_T_MODE", "safe", 1);
	cr_assert_eq(rs_cfg_load(t_fields, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.mode, 1);
	const char *bad[] = {"sl", "slower", "fast,safe", "Safe", " fast"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("RS_T_MODE", bad[i], 1);
		cr_assert_eq(rs_cfg_load(t_fields, &c, err, sizeof(err)), RS_EINVAL, "%s accepted",
		             bad[i]);
		cr_assert(strstr(err, "RS_T_MODE=") != NULL, "%s", err);
		cr_assert(strstr(err, "expected one of fast,safe,slow") != NULL, "%s", err);
	}
}
