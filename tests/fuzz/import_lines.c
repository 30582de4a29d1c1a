/* Target import_lines: a data file through rs-train import's readers (services/trainer/dataio:
 * import.c's formats over csvr.c's RFC 4180 reader) into a sink that only checks what it is
 * handed. Input: the first byte picks the format and options (movielens-100k with and without
 * its u.item catalog, movielens with movies.csv, retailrocket, sequence with kept and mapped
 * ids, csv with a column map, ';' or tab delimiter, no header, s/ms/iso timestamps), the rest
 * is the file (the same bytes serve as the catalog where one is read). Properties: no memory
 * error; every event and catalog row handed on has positive ids, a known event type and a
 * title; an error has a message. */
#include "fuzz.h"

#include "dataio.h"
#include "dio.h"
#include "rs_err.h"

static int
on_item(void *ctx, const dio_item *it)
{
	(void) ctx;
	FUZZ_CHECK(it->id > 0, "item id %lld", (long long) it->id);
	FUZZ_CHECK(it->title != NULL, "item without title");
	return 0;
}

static int
on_event(void *ctx, const dio_event *e)
{
	(void) ctx;
	FUZZ_CHECK(e->user_id > 0 && e->item_id > 0, "ids %lld %lld", (long long) e->user_id,
	           (long long) e->item_id);
	FUZZ_CHECK(e->type >= 1 && e->type <= 6, "type %d", e->type);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char path[64];
	int fd = fuzz_file(data + 1, size - 1, path, sizeof(path));
	char *argv[16];
	int argc = 0;
	argv[argc++] = "import";
	argv[argc++] = "--format";
	switch (data[0] % 12) {
	case 0:
		argv[argc++] = "movielens-100k";
		break;
	case 1:
		argv[argc++] = "movielens-100k";
		argv[argc++] = "--catalog";
		argv[argc++] = path;
		break;
	case 2:
		argv[argc++] = "movielens";
		break;
	case 3:
		argv[argc++] = "movielens";
		argv[argc++] = "--catalog";
		argv[argc++] = path;
		break;
	case 4:
		argv[argc++] = "retailrocket";
		break;
	case 5:
		argv[argc++] = "sequence";
		break;
	case 6:
		argv[argc++] = "sequence";
		argv[argc++] = "--ids";
		argv[argc++] = "map";
		break;
	case 7:
		argv[argc++] = "csv";
		argv[argc++] = "--map";
		argv[argc++] = "user=user,item=item,ts=ts,type=type,value=value,event_id=id,"
		               "price=price";
		break;
	case 8:
		argv[argc++] = "csv";
		argv[argc++] = "--map";
		argv[argc++] = "user=0,item=1,ts=2";
		argv[argc++] = "--no-header";
		argv[argc++] = "--delimiter";
		argv[argc++] = "tab";
		argv[argc++] = "--ts-unit";
		argv[argc++] = "ms";
		break;
	case 9:
		argv[argc++] = "csv";
		argv[argc++] = "--map";
		argv[argc++] = "user=u,item=i,ts=t,type=e";
		argv[argc++] = "--delimiter";
		argv[argc++] = ";";
		argv[argc++] = "--ts-unit";
		argv[argc++] = "iso";
		argv[argc++] = "--ids";
		argv[argc++] = "map";
		break;
	case 10:
		argv[argc++] = "csv";
		argv[argc++] = "--map";
		argv[argc++] = "user=user,item=item";
		argv[argc++] = "--delimiter";
		argv[argc++] = " ";
		break;
	default:
		argv[argc++] = "csv";
		argv[argc++] = "--map";
		argv[argc++] = "user=1,item=2,value=3,type=4";
		argv[argc++] = "--no-header";
		argv[argc++] = "--type";
		argv[argc++] = "rating";
		break;
	}
	argv[argc++] = "--input";
	argv[argc++] = path;
	argv[argc] = NULL;
	dio_sink_fns fns = {.item = on_item, .event = on_event};
	char err[512] = "";
	int rv = trn_import_each(argc, argv, &fns, err, sizeof(err));
	if (rv != 0)
		FUZZ_CHECK(err[0] != '\0', "error %d without a message", rv);
	close(fd);
	return 0;
}
