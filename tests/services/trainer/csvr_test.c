/* csvr: rs-train's one reader of delimited files (dataio/csvr.h), its dialects worked out by
 * hand. */
#include <criterion/criterion.h>
#include <string.h>

#include "csvr.h"
#include "helpers.h"
#include "rs_err.h"

TestSuite(csvr, .fini = th_cleanup);

/* splits text (copied) with d; the fields joined by '|' into out */
static int
split_join(const char *text, const tr_csv_dialect *d, char *out, size_t n)
{
	char line[256], *f[16];
	int nf;

	snprintf(line, sizeof(line), "%s", text);
	nf = tr_csv_split(line, d, f, 16);
	out[0] = '\0';
	for (int k = 0; k < nf && k < 16; k++)
		snprintf(out + strlen(out), n - strlen(out), "%s%s", k ? "|" : "", f[k]);
	return nf;
}

Test(csvr, dialects_split_a_line)
{
	const tr_csv_dialect comma = {.delim = ","}, trimmed = {.delim = ",", .trim = 1},
	                     dat = {.delim = "::"}, blanks = {.delim = NULL},
	                     whole = {.delim = "", .trim = 1};
	char out[256];

	cr_assert_eq(split_join("a, b ,,c", &comma, out, sizeof(out)), 4);
	cr_assert_str_eq(out, "a| b ||c");
	cr_assert_eq(split_join(" a , b\t,c ", &trimmed, out, sizeof(out)), 3);
	cr_assert_str_eq(out, "a|b|c");
	cr_assert_eq(split_join("1::1193::5::978300760", &dat, out, sizeof(out)), 4);
	cr_assert_str_eq(out, "1|1193|5|978300760");
	cr_assert_eq(split_join("1:2::3", &dat, out, sizeof(out)), 2);
	cr_assert_str_eq(out, "1:2|3");
	cr_assert_eq(split_join("  u1 \t i2   i3  ", &blanks, out, sizeof(out)), 3);
	cr_assert_str_eq(out, "u1|i2|i3");
	cr_assert_eq(split_join("   ", &blanks, out, sizeof(out)), 0);
	cr_assert_eq(split_join("  one, line  ", &whole, out, sizeof(out)), 1);
	cr_assert_str_eq(out, "one, line");
	cr_assert_eq(split_join("", &comma, out, sizeof(out)), 1);
	cr_assert_str_eq(out, "");
}

Test(csvr, rfc4180_quotes)
{
	const tr_csv_dialect q = {.delim = ",", .quotes = 1}, pipe = {.delim = "|", .quotes = 1};
	char out[256];

	cr_assert_eq(split_join("1,\"Toy Story, (1995)\",\"say \"\"hi\"\"\"", &q, out, sizeof(out)),
	             3);
	cr_assert_str_eq(out, "1|Toy Story, (1995)|say \"hi\"");
	/* a quote inside a field is kept; what follows a closing quote too */
	cr_assert_eq(split_join("a\"b,\"c\"d,\"\"", &q, out, sizeof(out)), 3);
	cr_assert_str_eq(out, "a\"b|cd|");
	cr_assert_eq(split_join("\"x|y\"|z", &pipe, out, sizeof(out)), 2);
	cr_assert_str_eq(out, "x|y|z");
	cr_assert_eq(split_join("a,\"open", &q, out, sizeof(out)), -1);
}

Test(csvr, counts_fields_beyond_the_room)
{
	const tr_csv_dialect comma = {.delim = ","};
	char line[] = "a,b,c,d,e", *f[2];

	cr_assert_eq(tr_csv_split(line, &comma, f, 2), 5);
	cr_assert_str_eq(f[0], "a");
	cr_assert_str_eq(f[1], "b");
}

Test(csvr, records_skip_blank_lines_and_span_quoted_line_breaks)
{
	const char *p = th_write_tmp("\n"
	                             "id,title\r\n"
	                             "  \t\n"
	                             "1,\"two\n"
	                             "lines, one \"\"quote\"\"\"\n"
	                             "2,plain\n"
	                             "3,last");
	const tr_csv_dialect d = {.delim = ",", .quotes = 1};
	tr_csvr r;

	cr_assert_eq(tr_csvr_open(&r, p, &d), 0);
	cr_assert_eq(tr_csvr_next(&r), 1);
	cr_assert_eq(r.records, 1);
	cr_assert_eq(r.lineno, 2);
	cr_assert_eq(r.nfields, 2);
	cr_assert_str_eq(r.fields[1], "title");
	cr_assert_eq(tr_csvr_next(&r), 1);
	cr_assert_eq(r.lineno, 5, "the record's last line");
	cr_assert_str_eq(r.fields[0], "1");
	cr_assert_str_eq(r.fields[1], "two\nlines, one \"quote\"");
	cr_assert_eq(tr_csvr_next(&r), 1);
	cr_assert_eq(r.lineno, 6);
	cr_assert_str_eq(r.fields[1], "plain");
	cr_assert_eq(tr_csvr_next(&r), 1);
	cr_assert_eq(r.lineno, 7);
	cr_assert_str_eq(r.fields[1], "last");
	cr_assert_eq(r.records, 4);
	cr_assert_eq(tr_csvr_next(&r), 0);
	tr_csvr_close(&r);
	cr_assert_eq(r.records, 4, "the counts outlive close");
}

Test(csvr, an_unterminated_quote_and_a_missing_file_fail)
{
	const tr_csv_dialect d = {.delim = ",", .quotes = 1}, plain = {.delim = ","};
	const char *p = th_write_tmp("a,b\n1,\"never\nclosed\n");
	tr_csvr r;

	cr_assert_eq(tr_csvr_open(&r, p, &d), 0);
	cr_assert_eq(tr_csvr_next(&r), 1);
	cr_assert_eq(tr_csvr_next(&r), RS_EINVAL);
	cr_assert_eq(r.lineno, 3);
	tr_csvr_close(&r);
	/* without quotes the same file is three plain records */
	cr_assert_eq(tr_csvr_open(&r, p, &plain), 0);
	cr_assert_eq(tr_csvr_next(&r), 1);
	cr_assert_eq(tr_csvr_next(&r), 1);
	cr_assert_str_eq(r.fields[1], "\"never");
	cr_assert_eq(tr_csvr_next(&r), 1);
	cr_assert_eq(r.nfields, 1);
	cr_assert_eq(tr_csvr_next(&r), 0);
	tr_csvr_close(&r);
	cr_assert_eq(tr_csvr_open(&r, "/nonexistent/x.csv", &d), RS_EIO);
}
