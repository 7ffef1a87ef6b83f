/* emit.h: the events canteen-dockerd publishes to dockerd.sock's subscribers. */
#ifndef CANTEEN_DOCKERD_EMIT_H
#define CANTEEN_DOCKERD_EMIT_H

#include "dockerd.h"

/* Publish {"type":type, "node":..., ...fields of body} (body is stolen; NULL is ignored). */
void emit(struct dd *dd, const char *type, json_t *body);
/* An "error" event, with service and replica when known (NULL, -1 when not). */
void emit_error(struct dd *dd, const char *service, long replica, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
