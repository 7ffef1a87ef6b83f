/* eth_rpc_int.h: pieces eth_rpc.c shares with the loop-driven client in eth_arpc.c. */
#ifndef CANTEEN_ETH_RPC_INT_H
#define CANTEEN_ETH_RPC_INT_H

#include <curl/curl.h>

#include "eth_rpc.h"

struct rpc_body {
	struct eth_buf buf;
	size_t max;   /* the answer cap of what was asked (rpc_answer_cap) */
	int overflow;
};

/* The answer cap for n calls of methods: the sum of each kind's ETH_RPC_ANSWER_*. */
size_t rpc_answer_cap(size_t n, const char *const *methods);
/* Milliseconds on the monotonic clock. */
uint64_t rpc_now_ms(void);
/* Request text (malloc'd) for n calls with ids first_id..; params are stolen. */
char *rpc_build(size_t n, const char *const *methods, json_t **params, int batch, uint64_t first_id);
/* Answer body into results[0..n) (owned) and errs; -1 with e if it is unusable. */
int rpc_parse(const uint8_t *body, size_t len, size_t n, int batch, uint64_t first_id,
              json_t **results, struct eth_rpc_err *errs, struct eth_rpc_err *e);
/* 1 retry, 0 final error, -1 success. shown is the redacted URL, what the method asked
 * (or "a batch"), timeout_ms the call's whole time (named when it ran out). */
int rpc_classify(int curl_code, long http, const struct rpc_body *body, struct eth_rpc_err *e,
                 const char *shown, const char *what, uint64_t timeout_ms);
size_t rpc_write_cb(char *ptr, size_t size, size_t nmemb, void *arg);
/* timeout_ms: what is left of the call's time for this attempt. */
int rpc_setup_easy(CURL *h, const char *url, const struct eth_rpc_opts *o, uint64_t timeout_ms,
                   struct curl_slist *hdrs, struct rpc_body *body, const char *req);
struct curl_slist *rpc_headers(void);

#endif
