#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char paths[16][256];
static int npaths;

const char *
th_write_tmp(const char *text)
{
	char *p = paths[npaths++ % 16];
	int fd;

	snprintf(p, 256, "/tmp/rs_train_test_XXXXXX");
	fd = mkstemp(p);
	if (fd >= 0) {
		if (write(fd, text, strlen(text)) < 0)
			p[0] = '\0';
		close(fd);
	}
	return p;
}

const char *
th_tmpdir(void)
{
	char *p = paths[npaths++ % 16];

	snprintf(p, 256, "/tmp/rs_train_dir_XXXXXX");
	return mkdtemp(p);
}

void
th_cleanup(void)
{
	char cmd[4200];
	int k;

	for (k = 0; k < npaths && k < 16; k++)
		if (paths[k][0] != '\0' && strncmp(paths[k], "/tmp/rs_train_", 14) == 0) {
			snprintf(cmd, sizeof(cmd), "rm -rf '%s'", paths[k]);
			if (system(cmd) != 0)
				fprintf(stderr, "cleanup of %s failed\n", paths[k]);
			paths[k][0] = '\0';
		}
	npaths = 0;
}

void
th_dataset(tr_dataset *ds, int32_t n_users, int32_t n_items, int n, const int32_t *u,
           const int32_t *i)
{
	tr_ids *users = malloc(sizeof(*users)), *items = malloc(sizeof(*items));
	char buf[32];
	int32_t k;

	tr_ids_init(users);
	tr_ids_init(items);
	for (k = 0; k < n_users; k++) {
		snprintf(buf, sizeof(buf), "u%d", k);
		tr_ids_intern(users, buf, strlen(buf));
	}
	for (k = 0; k < n_items; k++) {
		snprintf(buf, sizeof(buf), "i%d", k);
		tr_ids_intern(items, buf, strlen(buf));
	}
	tr_dataset_build(ds, users, items, n_users, n_items, n, u, i, NULL);
}
