/* ipc.h: newline-delimited JSON over Unix domain sockets, server and client ends. */
#ifndef CANTEEN_IPC_H
#define CANTEEN_IPC_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "loop.h"

#define IPC_MAX_LINE (1024 * 1024)       /* longest accepted input line, bytes */
#define IPC_MAX_OUTQ (8 * 1024 * 1024)   /* queued output before a peer is dropped */
#define IPC_MAX_CONNS 1024               /* open connections per listening socket */
#define IPC_ACCEPT_PAUSE_MS 100          /* accepting paused when no descriptor is left, ms */

struct ipc_server;
struct ipc_conn;
struct ipc_client;

/*
 * Server side. Each complete line is parsed strictly (JSON object, no duplicate keys);
 * a line over IPC_MAX_LINE or one that is not a JSON object gets
 * {"type":"error","error":"..."} and the connection is closed.
 * msg is borrowed: the callback must json_incref what it keeps.
 */
typedef void (*ipc_msg_cb)(struct ipc_conn *c, json_t *msg, void *arg);
typedef void (*ipc_close_cb)(struct ipc_conn *c, void *arg);

/* Does a process answer on the socket at path? */
int ipc_path_live(const char *path);
/* A server with no socket: nobody connects; what it publishes goes to its mirror
 * (ipc_server_mirror) only. NULL when out of memory. Freed with ipc_server_free. */
struct ipc_server *ipc_server_unbound(struct loop *l, ipc_msg_cb on_msg, ipc_close_cb on_close,
                                      void *arg);
/* Creates the directory of path if missing (mode 0700) and the socket with mode 0600.
 * An existing directory must belong to this user and not be writable by group or
 * others (else an error; one others may only enter is chmod 0700).
 * A stale socket file left by a dead process is replaced; a live one is an error.
 * A client over IPC_MAX_CONNS, or one that arrives when the process is out of file
 * descriptors, gets one {"type":"error",...} line and is closed: the server keeps one
 * spare descriptor to accept and close it with, so a full backlog never spins the loop
 * (without the spare, accepting pauses for IPC_ACCEPT_PAUSE_MS). */
struct ipc_server *ipc_listen(struct loop *l, const char *path, ipc_msg_cb on_msg,
                              ipc_close_cb on_close, void *arg, char *err, size_t errlen);
/* Closes every connection and unlinks the socket. */
void ipc_server_free(struct ipc_server *s);
size_t ipc_server_nconns(const struct ipc_server *s);

/* Queue one message (a newline is added). Does not steal msg. 0, or -1 if the
 * connection is closing, its queue would exceed IPC_MAX_OUTQ, the peer is gone or
 * memory ran out: the connection is then dropped (its close callback has run) and c must
 * not be used again; outside c's own message callback it is already freed. */
int ipc_send(struct ipc_conn *c, json_t *msg);
/* Reply to a request: copies "id" from req (if any) into msg, then ipc_send. */
int ipc_reply(struct ipc_conn *c, json_t *req, json_t *msg);
/* {"type":"error","error":"<formatted>","id":...}. */
int ipc_reply_error(struct ipc_conn *c, json_t *req, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Flush what is queued, then close; the close callback runs once. */
void ipc_conn_close(struct ipc_conn *c);
/* Bytes queued for c and not yet written: a producer pauses above a mark of its own. */
size_t ipc_conn_queued(const struct ipc_conn *c);
void ipc_conn_set_data(struct ipc_conn *c, void *data);
void *ipc_conn_get_data(const struct ipc_conn *c);
/* Peer credentials (SO_PEERCRED); uid -1 if unknown. */
long ipc_conn_peer_uid(const struct ipc_conn *c);

/*
 * Subscriptions: snapshot, then deltas. ipc_publish stamps the event with the server's
 * next "seq" (monotonic per server), serialises it once and queues it to every
 * subscribed connection; a subscriber whose queue is full is dropped.
 * ipc_subscribe stamps snapshot with the current seq (the seq of the last event it
 * already reflects), sends it, and marks the connection subscribed. A connection
 * subscribes once: a second ipc_subscribe sends {"type":"error","error":"already
 * subscribed"} instead and changes nothing (handlers that have the request check
 * ipc_conn_subscribed first and answer with ipc_reply_error, which copies its id).
 * -1 means the connection was dropped (as for ipc_send): do not close it again.
 */
uint64_t ipc_publish(struct ipc_server *s, json_t *event);
int ipc_subscribe(struct ipc_conn *c, json_t *snapshot);
int ipc_conn_subscribed(const struct ipc_conn *c);
uint64_t ipc_server_seq(const struct ipc_server *s);
/* Also copy every published event to fd as one line (e.g. stdout for --stdout), or -1. */
void ipc_server_mirror(struct ipc_server *s, int fd);

/*
 * Both client sides connect only to a server running as root or as this user
 * (SO_PEERCRED): another user's socket is refused like an absent one.
 *
 * Client side, used by daemons: connects to path and keeps reconnecting with
 * back-off (IPC_BACKOFF_MIN_MS doubling to IPC_BACKOFF_MAX_MS) while the peer is away
 * drops the connection, or is not trusted. A connection alone does not reset the back-off: the user
 * calls ipc_client_backoff_reset once the peer delivered what it should (a whole
 * snapshot), so a peer that closes at once, or feeds lines we refuse, is not hammered.
 * on_state(c, 1) runs after each connect (send "subscribe" there), on_state(c, 0) after
 * each loss. msg in on_msg is borrowed.
 */
#define IPC_BACKOFF_MIN_MS 100
#define IPC_BACKOFF_MAX_MS 5000
typedef void (*ipc_client_msg_cb)(struct ipc_client *c, json_t *msg, void *arg);
typedef void (*ipc_client_state_cb)(struct ipc_client *c, int connected, void *arg);
struct ipc_client *ipc_client_new(struct loop *l, const char *path, ipc_client_msg_cb on_msg,
                                  ipc_client_state_cb on_state, void *arg);
void ipc_client_free(struct ipc_client *c);
int ipc_client_connected(const struct ipc_client *c);
void ipc_client_backoff_reset(struct ipc_client *c);
/* Does not steal msg; -1 when not connected or the queue is full. */
int ipc_client_send(struct ipc_client *c, json_t *msg);

/*
 * Blocking helpers for the CLI and tests (never inside a daemon's loop).
 * ipc_sync_connect returns a connected fd or -1 with err filled.
 * ipc_sync_read reads one line (bounded) and parses it; returns 1 with *out owned
 * by the caller, 0 on EOF, -1 on error, IPC_SYNC_TIMEOUT (-2) on timeout, after which
 * the connection may be read again (timeout_ms < 0: wait forever).
 */
#define IPC_SYNC_TIMEOUT (-2)
struct ipc_sync;
struct ipc_sync *ipc_sync_connect(const char *path, char *err, size_t errlen);
int ipc_sync_send(struct ipc_sync *s, json_t *msg, char *err, size_t errlen);
int ipc_sync_read(struct ipc_sync *s, json_t **out, int timeout_ms, char *err, size_t errlen);
void ipc_sync_close(struct ipc_sync *s);
/* Connect, send req, read one answer (owned by caller). 0 or -1 with err. */
int ipc_request(const char *path, json_t *req, json_t **answer, int timeout_ms, char *err,
                size_t errlen);

/* Parse one NDJSON line strictly into an object; NULL with err on failure. */
json_t *ipc_parse_line(const char *line, size_t len, char *err, size_t errlen);

#endif
