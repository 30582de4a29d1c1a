#include "static.h"

#include "rs_err.h"
#include "rs_log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define ST_PATH_MAX 1024

/* For the UI's HTML: scripts, styles and requests only from this origin; no framing. */
static const char st_csp[] = "default-src 'self'; script-src 'self'; style-src 'self' "
                             "'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
                             "frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

struct gw_static {
	char *s_root; /* realpath of the folder, no trailing slash */
	size_t s_rootlen;
};

int
gw_static_open(gw_static **out, const char *dir)
{
	char index[PATH_MAX + 16];
	struct stat st;
	char *root = realpath(dir, NULL);

	if (root == NULL) {
		rs_log_error("gw.ui_dir", "dir=\"%s\" err=\"%s\"", dir, strerror(errno));
		return RS_ENOTFOUND;
	}
	snprintf(index, sizeof(index), "%s/index.html", root);
	if (stat(index, &st) != 0 || !S_ISREG(st.st_mode)) {
		rs_log_error("gw.ui_dir",
		             "dir=\"%s\" err=\"no index.html (build the UI first: cd "
		             "frontend && npm ci && npm run build)\"",
		             root);
		free(root);
		return RS_ENOTFOUND;
	}
	gw_static *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		free(root);
		return RS_ENOMEM;
	}
	s->s_root = root;
	s->s_rootlen = strlen(root);
	rs_log_info("gw.ui", "dir=\"%s\"", root);
	*out = s;
	return 0;
}

void
gw_static_close(gw_static *s)
{
	if (s == NULL)
		return;
	free(s->s_root);
	free(s);
}

static int
st_api_path(const char *p)
{
	return strncmp(p, "/v1/", 4) == 0 || strcmp(p, "/v1") == 0 || strcmp(p, "/healthz") == 0 ||
	       strcmp(p, "/readyz") == 0 || strcmp(p, "/metrics") == 0;
}

int
gw_static_claims(const gw_req *req)
{
	return (strcmp(req->r_method, "GET") == 0 || strcmp(req->r_method, "HEAD") == 0) &&
	       !st_api_path(req->r_path);
}

/* A path we are willing to look up: absolute, bounded, no empty, "." or ".."-led segments
 * (this also keeps dotfiles private), no backslash or control characters. */
static int
st_path_ok(const char *p)
{
	size_t n = strlen(p);
	if (p[0] != '/' || n >= ST_PATH_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char) p[i];
		if (c < 0x20 || c == 0x7f || c == '\\')
			return 0;
		if (c == '/' && i + 1 < n && (p[i + 1] == '/' || p[i + 1] == '.'))
			return 0;
	}
	return 1;
}

static const char *
st_ctype(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
	        {".html", "text/html; charset=utf-8"},
	        {".js", "text/javascript; charset=utf-8"},
	        {".mjs", "text/javascript; charset=utf-8"},
	        {".css", "text/css; charset=utf-8"},
	        {".json", "application/json"},
	        {".map", "application/json"},
	        {".webmanifest", "application/manifest+json"},
	        {".svg", "image/svg+xml"},
	        {".png", "image/png"},
	        {".ico", "image/x-icon"},
	        {".woff2", "font/woff2"},
	        {".txt", "text/plain; charset=utf-8"},
	};
	const char *dot = strrchr(name, '.');
	if (dot != NULL && strchr(dot, '/') == NULL)
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcasecmp(dot, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

/* 1 when the Accept-Encoding value ae accepts coding (a listed name or "*" with q > 0). */
static int
st_accepts(const char *ae, const char *coding)
{
	size_t cl = strlen(coding);
	const char *p = ae;
	int star = 0;

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *end = p;
		while (*end != '\0' && *end != ',' && *end != ';' && *end != ' ')
			end++;
		size_t tl = (size_t) (end - p);
		double q = 1.0;
		const char *next = strchr(p, ',');
		const char *semi = strchr(p, ';');
		if (semi != NULL && (next == NULL || semi < next)) {
			const char *qs = strstr(semi, "q=");
			if (qs != NULL && (next == NULL || qs < next))
				q = strtod(qs + 2, NULL);
		}
		if (tl == cl && strncasecmp(p, coding, cl) == 0)
			return q > 0;
		if (tl == 1 && *p == '*')
			star = q > 0;
		p = next;
	}
	return star;
}

/* 1 when the real path of path lies inside the root. */
static int
st_inside(const gw_static *s, const char *path)
{
	char *real = realpath(path, NULL);
	int ok = real != NULL && strncmp(real, s->s_root, s->s_rootlen) == 0 &&
	         real[s->s_rootlen] == '/';
	free(real);
	return ok;
}

/* Opens path (regular file, inside the root) read-only; -1 otherwise. */
static int
st_open(const gw_static *s, const char *path, struct stat *st)
{
	if (stat(path, st) != 0 || !S_ISREG(st->st_mode) || !st_inside(s, path))
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && (fstat(fd, st) != 0 || !S_ISREG(st->st_mode))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

void
gw_static_serve(gw_static *s, gw_req *req)
{
	char path[PATH_MAX], alt[PATH_MAX + 8], etag[96];
	struct stat st;
	const char *p = req->r_path;

	if (!st_path_ok(p)) {
		gw_reply_error(req, 400, "bad_request",
		               "path segments may not be empty or start with '.'");
		return;
	}
	const char *last = strrchr(p, '/') + 1;
	int is_index = 0;
	snprintf(path, sizeof(path), "%s%s", s->s_root, strcmp(p, "/") == 0 ? "/index.html" : p);
	int fd = st_open(s, path, &st);
	if (fd < 0) {
		if (strchr(last, '.') != NULL) { /* a file that does not exist */
			gw_reply_error(req, 404, "not_found", "no file %s", p);
			return;
		}
		/* one of the UI's routes (/item/42, /admin/models): the app decides */
		snprintf(path, sizeof(path), "%s/index.html", s->s_root);
		if ((fd = st_open(s, path, &st)) < 0) {
			gw_reply_error(req, 404, "not_found", "the UI has no index.html");
			return;
		}
	}
	is_index = strcmp(path + s->s_rootlen, "/index.html") == 0;
	const char *ctype = st_ctype(path);
	const char *encoding = NULL;
	const char *ae = gw_req_header(req, "Accept-Encoding");
	static const char *const codings[][2] = {{"br", ".br"}, {"gzip", ".gz"}};
	for (size_t i = 0; ae != NULL && encoding == NULL && i < 2; i++) {
		if (!st_accepts(ae, codings[i][0]))
			continue;
		snprintf(alt, sizeof(alt), "%s%s", path, codings[i][1]);
		struct stat ast;
		int afd = st_open(s, alt, &ast);
		if (afd >= 0) {
			close(fd);
			fd = afd;
			encoding = codings[i][0];
			st.st_size = ast.st_size;
		}
	}
	snprintf(etag, sizeof(etag), "\"%llx-%llx%s%s\"", (unsigned long long) st.st_size,
	         (unsigned long long) st.st_mtim.tv_sec * 1000000000ULL +
	                 (unsigned long long) st.st_mtim.tv_nsec,
	         encoding != NULL ? "-" : "", encoding != NULL ? encoding : "");
	req->r_cache =
	        strncmp(p, "/assets/", 8) == 0 ? "public, max-age=31536000, immutable" : "no-cache";
	gw_reply_header(req, "ETag", etag);
	gw_reply_header(req, "Vary", "Accept-Encoding");
	gw_reply_header(req, "X-Content-Type-Options", "nosniff");
	if (is_index) {
		gw_reply_header(req, "Content-Security-Policy", st_csp);
		gw_reply_header(req, "Referrer-Policy", "same-origin");
	}
	if (encoding != NULL)
		gw_reply_header(req, "Content-Encoding", encoding);
	const char *inm = gw_req_header(req, "If-None-Match");
	if (inm != NULL && strstr(inm, etag) != NULL) {
		close(fd);
		gw_reply_text(req, 304, ctype, NULL, 0);
		return;
	}
	gw_reply_file(req, 200, ctype, fd, (size_t) st.st_size);
}
