/* engine.h: the connection to Docker, as the other modules see it. */
#ifndef CANTEEN_DOCKERD_ENGINE_H
#define CANTEEN_DOCKERD_ENGINE_H

#include "dockerd.h"

/* Docker went away: drop what is in flight and reconnect with back-off. */
void engine_lost(struct dd *dd, const char *why);

#endif
