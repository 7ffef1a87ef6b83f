/* eth_rpc_int.h: pieces eth_rpc.c shares with the loop-driven client in eth_arpc.c. */
#ifndef CANTEEN_ETH_RPC_INT_H
#define CANTEEN_ETH_RPC_INT_H

#include <curl/curl.h>

#include "eth_rpc.h"

#define RPC_MAX_ANSWER ETH_BUF_MAX

struct rpc_body {
	struct eth_buf buf;
	int overflow;
};

int rpc_check_url(const char *url, struct eth_rpc_err *e);
/* Request text (malloc'd) for n calls with ids first_id..; params are stolen. */
char *rpc_build(size_t n, const char *const *methods, json_t **params, int batch, uint64_t first_id);
/* Answer body into results[0..n) (owned) and errs; -1 with e if it is unusable. */
int rpc_parse(const uint8_t *body, size_t len, size_t n, int batch, uint64_t first_id,
              json_t **results, struct eth_rpc_err *errs, struct eth_rpc_err *e);
/* 1 retry, 0 final error, -1 success. */
int rpc_classify(int curl_code, long http, int overflow, struct eth_rpc_err *e, const char *url);
size_t rpc_write_cb(char *ptr, size_t size, size_t nmemb, void *arg);
int rpc_setup_easy(CURL *h, const char *url, const struct eth_rpc_opts *o,
                   struct curl_slist *hdrs, struct rpc_body *body, const char *req);
struct curl_slist *rpc_headers(void);

#endif
