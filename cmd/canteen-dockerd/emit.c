/* emit.c: canteen-dockerd's events, published to every subscriber of dockerd.sock. */
#include <stdarg.h>
#include <stdio.h>

#include "dockerd.h"
#include "emit.h"
#include "rstate.h"

void emit(struct dd *dd, const char *type, json_t *body)
{
	if (!body)
		return;
	json_object_set_new(body, "type", json_string(type));
	json_object_set_new(body, "node", json_string(dd->node));
	ipc_publish(dd->srv, body);
	json_decref(body);
	rstate_touch(dd);
}

void emit_error(struct dd *dd, const char *service, long replica, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_t *ev = json_pack("{s:s}", "error", msg);
	if (ev && service)
		json_object_set_new(ev, "service", json_string(service));
	if (ev && replica >= 0)
		json_object_set_new(ev, "replica", json_integer(replica));
	emit(dd, "error", ev);
}
