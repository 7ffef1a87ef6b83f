/* eth_rpc.h: Ethereum JSON-RPC 2.0 over HTTP(S) with libcurl: blocking and loop-driven clients. */
#ifndef CANTEEN_ETH_RPC_H
#define CANTEEN_ETH_RPC_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "eth_util.h"
#include "loop.h"

#define ETH_RPC_MAX_BATCH 1000
#define ETH_RPC_MAX_REVERT 4096
/* The largest answer taken for one call, by kind (bytes); a batch may take the sum. */
#define ETH_RPC_ANSWER_SCALAR (64u * 1024)        /* quantities, hashes, fee history */
#define ETH_RPC_ANSWER_OBJECT (1024u * 1024)      /* a block header, a transaction, a receipt */
#define ETH_RPC_ANSWER_CALL (8u * 1024 * 1024)    /* eth_call return data (a page of records) */
#define ETH_RPC_ANSWER_LOGS (16u * 1024 * 1024)   /* eth_getLogs */
/* Longest redacted URL (scheme, host, port, and "/..." when the URL had more). */
#define ETH_RPC_SHOWN_MAX 300

enum eth_rpc_kind {
	ETH_RPC_OK = 0,
	ETH_RPC_TRANSPORT, /* could not connect, timed out, TLS failure, HTTP 5xx/429 */
	ETH_RPC_HTTP,      /* other HTTP status */
	ETH_RPC_BAD_ANSWER,/* not JSON-RPC 2.0, wrong id */
	ETH_RPC_ERROR,     /* the node answered with an error object */
	ETH_RPC_TOO_LARGE, /* the answer passed the cap of what was asked (ETH_RPC_ANSWER_*) */
	ETH_RPC_QUORUM,    /* several endpoints answered, but too few of them alike */
};

/* What went wrong, in one sentence (msg); a revert's data when the node gave it. */
struct eth_rpc_err {
	enum eth_rpc_kind kind;
	long code;                     /* JSON-RPC error code, or HTTP status */
	char msg[512];
	int has_revert;
	size_t revert_len;
	uint8_t revert[ETH_RPC_MAX_REVERT];
};

struct eth_rpc_opts {
	uint64_t connect_timeout_ms; /* default 3000 */
	uint64_t timeout_ms;         /* one call, every retry included; default 10000 */
	unsigned retries;            /* extra attempts on transport errors; default 2 */
	uint64_t backoff_ms;         /* first retry delay, doubling; default 200 */
	int insecure;                /* 1: do not verify TLS (never the default) */
	int allow_http;              /* 1: plain http:// to any host, not only loopback */
};

void eth_rpc_opts_default(struct eth_rpc_opts *o);

/*
 * url as it may be shown in a message or a log: scheme://host[:port], then "/..." when
 * the URL had a path, a query or a user (they often hold an API key). Always
 * NUL-terminated; cut to outlen.
 */
void eth_rpc_url_redact(const char *url, char *out, size_t outlen);
/* 0 if url is http(s)://, and plain http:// only to a loopback host (127.0.0.0/8, ::1,
 * localhost) unless allow_http; else -1 with e naming the redacted URL. */
int eth_rpc_check_url(const char *url, int allow_http, struct eth_rpc_err *e);

/*
 * Blocking client for the CLI and tools (never inside a daemon's loop). One easy
 * handle per endpoint is reused, so the connection is kept alive between calls. Only
 * http:// and https:// URLs are accepted. url may be an rpc_url list (conf_rpc_urls):
 * eth_rpc_call and eth_rpc_batch then ask the first endpoint, and the next ones while
 * one cannot be reached (transport or HTTP error; the first one's error when none
 * can); eth_rpc_call_at asks one endpoint only.
 */
struct eth_rpc;
struct eth_rpc *eth_rpc_new(const char *url, const struct eth_rpc_opts *o, struct eth_rpc_err *e);
void eth_rpc_free(struct eth_rpc *r);
/* The redacted URL (eth_rpc_url_redact) of the first endpoint, for messages. */
const char *eth_rpc_url(const struct eth_rpc *r);
/* How many endpoints; the redacted URL of endpoint i ("" when there is none). */
size_t eth_rpc_endpoints(const struct eth_rpc *r);
const char *eth_rpc_url_at(const struct eth_rpc *r, size_t i);
/* eth_rpc_call on endpoint i alone. */
int eth_rpc_call_at(struct eth_rpc *r, size_t i, const char *method, json_t *params, json_t **result,
                    struct eth_rpc_err *e);

/* params is stolen (a JSON array, or NULL for []); *result is owned by the caller. */
int eth_rpc_call(struct eth_rpc *r, const char *method, json_t *params, json_t **result,
                 struct eth_rpc_err *e);
/*
 * n calls in one HTTP request. params[i] are stolen. results[i] (owned) is NULL where
 * call i failed, with errs[i] telling why (errs may be NULL). Returns -1 (with e) only
 * when the whole batch failed.
 */
int eth_rpc_batch(struct eth_rpc *r, size_t n, const char *const *methods, json_t **params,
                  json_t **results, struct eth_rpc_err *errs, struct eth_rpc_err *e);

/*
 * Non-blocking client driven by a loop (curl multi with socket and timer callbacks):
 * nothing it does blocks. The callback runs once per call from inside the loop, with
 * result borrowed (valid during the callback), or NULL and e set. Transport errors are
 * retried with back-off before the callback sees them. Callbacks may start new calls;
 * eth_arpc_free (not from inside a callback) drops pending calls without calling them.
 */
struct eth_arpc;
typedef void (*eth_arpc_cb)(json_t *result, const struct eth_rpc_err *e, void *arg);
/* Batch: results[i] borrowed (NULL where errs[i] says why), or results NULL and e set. */
typedef void (*eth_arpc_batch_cb)(size_t n, json_t **results, const struct eth_rpc_err *errs,
                                  const struct eth_rpc_err *e, void *arg);

struct eth_arpc *eth_arpc_new(struct loop *l, const char *url, const struct eth_rpc_opts *o,
                              struct eth_rpc_err *e);
void eth_arpc_free(struct eth_arpc *a);
/* 0, or -1 with e (bad arguments, out of memory); params is stolen either way. */
int eth_arpc_call(struct eth_arpc *a, const char *method, json_t *params, eth_arpc_cb cb,
                  void *arg, struct eth_rpc_err *e);
int eth_arpc_batch(struct eth_arpc *a, size_t n, const char *const *methods, json_t **params,
                   eth_arpc_batch_cb cb, void *arg, struct eth_rpc_err *e);
size_t eth_arpc_pending(const struct eth_arpc *a);

/*
 * A quorum client: the same non-blocking calls to each of n endpoints (at most
 * ETH_ARPC_MAX_ENDPOINTS), and an answer only when quorum of them (1..n) gave the same
 * one and no other answer had as many, counting those still to answer: eth_blockNumber
 * answers the quorum-th highest head; eth_getBlockByNumber/Hash are alike when their
 * "hash" is (or both are null); eth_getLogs when every log's address, topics, data,
 * block, transaction and index are; any other method when the whole result is. When
 * too few answered alike the call fails: ETH_RPC_QUORUM when endpoints gave different
 * answers, the error of quorum endpoints when they gave one, else ETH_RPC_TRANSPORT.
 * It is used with eth_arpc_call and eth_arpc_batch like a client of one endpoint.
 * After every endpoint answered a call, report (when set) is told of each endpoint
 * (its index in urls) whose health changed: DOWN (it failed to answer: transport or HTTP error), DISAGREE
 * (its answer differed from the quorum's, or no quorum agreed and its answer was one of
 * several, or it answered something malformed), UP (it answered after DOWN); shown is
 * its redacted URL, why one sentence. Agreeing again after DISAGREE is not reported.
 * LIED: the endpoint answered a block whose "hash" is not the hash of its header (the
 * header's fields recomputed, eth_header.h) while another endpoint's block in the same
 * call was its header's; none of its answers count for ETH_ARPC_LIAR_HOLD_MS, so the
 * others can make a quorum without it (with a quorum of 1, the one honest endpoint left).
 */
#define ETH_ARPC_MAX_ENDPOINTS 16
#define ETH_ARPC_LIAR_HOLD_MS (10 * 60 * 1000)
enum eth_arpc_health { ETH_ARPC_UP, ETH_ARPC_DOWN, ETH_ARPC_DISAGREE, ETH_ARPC_LIED };
typedef void (*eth_arpc_report_cb)(size_t endpoint, const char *shown, enum eth_arpc_health h,
                                   const char *why, void *arg);
struct eth_arpc *eth_arpc_new_quorum(struct loop *l, const char *const *urls, size_t n,
                                     size_t quorum, const struct eth_rpc_opts *o,
                                     eth_arpc_report_cb report, void *report_arg,
                                     struct eth_rpc_err *e);

/* Fill e with a formatted message of the given kind; returns -1. */
int eth_rpc_errf(struct eth_rpc_err *e, enum eth_rpc_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
