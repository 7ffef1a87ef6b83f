/* curl_loop.h: libcurl's multi interface driven by loop.h, shared by every non-blocking curl client. */
#ifndef CANTEEN_CURL_LOOP_H
#define CANTEEN_CURL_LOOP_H

#include <stdint.h>

#include <curl/curl.h>

#include "loop.h"

/*
 * Runs after curl did work on one of its sockets or on its timer: the owner delivers
 * what arrived and takes finished transfers with curl_loop_next_done. It may add and
 * remove easy handles; it must not call curl_loop_fini.
 */
typedef void (*curl_loop_cb)(void *arg);

/*
 * Embedded in the client that owns it. m is the multi handle: the owner adds and removes
 * its easy handles there and may set further CURLMOPT_* options; the rest is private.
 */
struct curl_loop {
	struct loop *l;
	CURLM *m;
	uint64_t timer;  /* loop timer standing in for curl's, 0 when none */
	curl_loop_cb after;
	void *arg;
};

/* curl_global_init once per process (thread-safe); 0, or -1 if libcurl failed. */
int curl_loop_global_init(void);

/* Set up c with a new multi handle whose sockets and timer l watches. 0, or -1 when
 * libcurl failed to initialise or is out of memory (c is then left empty and
 * curl_loop_fini on it is harmless). */
int curl_loop_init(struct curl_loop *c, struct loop *l, curl_loop_cb after, void *arg);

/* Clean up the multi handle (remove every easy handle first) and cancel the timer. */
void curl_loop_fini(struct curl_loop *c);

/*
 * The next finished transfer: returns its CURLOPT_PRIVATE pointer with its result in
 * *rc, or NULL when none is left. Transfers without a private pointer are skipped.
 * The easy handle stays in the multi handle: the owner removes it.
 */
void *curl_loop_next_done(struct curl_loop *c, CURLcode *rc);

#endif
