/* engine.h: the connection to Docker, as the other modules see it. */
#ifndef CANTEEN_DOCKERD_ENGINE_H
#define CANTEEN_DOCKERD_ENGINE_H

#include "dockerd.h"

/* Docker went away: drop what is in flight and reconnect with back-off. */
void engine_lost(struct dd *dd, const char *why);
/* List the containers within DD_RESYNC_SOON_MS (a container just started: its health). */
void engine_resync_soon(struct dd *dd);

#endif
