#include "rs_mhd.h"

#include "rs_err.h"
#include "rs_log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
rs_mhd_parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[128];
	const char *colon;
	size_t hl;

	if (addr == NULL)
		return RS_EINVAL;
	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');
		if (end == NULL || end[1] != ':')
			return RS_EINVAL;
		hl = (size_t) (end - addr - 1);
		colon = end + 1;
		addr++;
	} else {
		if ((colon = strrchr(addr, ':')) == NULL)
			return RS_EINVAL;
		hl = (size_t) (colon - addr);
	}
	if (hl >= sizeof(host))
		return RS_EINVAL;
	memcpy(host, addr, hl);
	host[hl] = '\0';
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || port < 0 || port > 65535)
		return RS_EINVAL;
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *) ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) ss;
	socklen_t n;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t) port);
		n = sizeof(*s4);
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t) port);
		n = sizeof(*s6);
	} else {
		return RS_EINVAL;
	}
	if (len != NULL)
		*len = n;
	return 0;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* MHD's messages end in a newline: one log line each, without it. */
static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512], q[600];
	vsnprintf(line, sizeof(line), fmt, ap);
	size_t n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	rs_log_warn((const char *) cls, "msg=\"%s\"", rs_log_quote(q, sizeof(q), line));
}

int
rs_mhd_start(struct MHD_Daemon **out, int *port, const char *addr, const rs_mhd_opts *o,
             MHD_AccessHandlerCallback access, void *access_cls, const char *log_event)
{
	struct sockaddr_storage ss;
	struct MHD_OptionItem opt[10];
	int n = 0;

	*out = NULL;
	if (rs_mhd_parse_addr(addr, &ss, NULL) != 0)
		return RS_EINVAL;
	unsigned flags = o->flags | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* MHD_OPTION_ARRAY: a callback and its closure as (intptr_t) value and ptr_value. */
	opt[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t) mhd_log,
	                                   (void *) (uintptr_t) log_event};
	opt[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &ss};
	if (o->thread_pool > 0)
		opt[n++] =
		        (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, o->thread_pool, NULL};
	if (o->max_connections > 0)
		opt[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, o->max_connections,
		                                   NULL};
	opt[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, o->idle_timeout_s, NULL};
	if (o->memory_limit > 0)
		opt[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		                                   (intptr_t) o->memory_limit, NULL};
	if (o->completed != NULL)
		opt[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED,
		                                   (intptr_t) o->completed, o->completed_cls};
	if (o->uri_log != NULL)
		opt[n++] = (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK,
		                                   (intptr_t) o->uri_log, o->uri_log_cls};
	opt[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	struct MHD_Daemon *d = MHD_start_daemon(flags, 0, NULL, NULL, access, access_cls,
	                                        MHD_OPTION_ARRAY, opt, MHD_OPTION_END);
	if (d == NULL)
		return RS_EEXIST;
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	*port = di != NULL ? (int) di->port : 0;
	*out = d;
	return 0;
}
