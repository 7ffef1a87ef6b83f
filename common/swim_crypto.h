/* swim_crypto.h: SWIM packet sealing: libsodium key pairs, per-peer shared keys, replay windows. */
#ifndef CANTEEN_SWIM_CRYPTO_H
#define CANTEEN_SWIM_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "swim_wire.h"

/*
 * A packet on the wire:
 *   magic "cs" (2) | version 2 (1) | sender address (20) | nonce (24) |
 *   crypto_box_afternm(seq u64 big-endian | body) (16-byte MAC + 8 + body)
 * The box uses the X25519 shared key of sender and recipient bound to both addresses,
 * computed once per peer, when the first packet to or from it is sealed or opened (a
 * member with 1,000 peers starts without 1,000 key agreements, about 30 us each).
 * Both directions of a pair share that key, so the low bit of nonce[0] says which way the
 * packet goes (0 when the sender's address sorts below the recipient's): a packet reflected
 * back at its sender fails that check, and flipping the bit breaks the MAC. The rest of the
 * nonce is random. seq is the sender's wall clock in microseconds when it seals the packet,
 * kept strictly increasing (swim_seq_next). A receiver accepts a seq only within
 * SWIM_SEQ_SKEW_MS of its own wall clock (swim_seq_fresh), and each seq once within a
 * 64-packet window (swim_replay). The window lives in memory, so the clock bound is what
 * refuses a packet captured before the receiver restarted or re-admitted the sender: it
 * is older than SWIM_SEQ_SKEW_MS by the time it can be replayed outside that window.
 * Members' clocks must agree within SWIM_SEQ_SKEW_MS.
 */
#define SWIM_SEQ_SKEW_MS 10000 /* ms: how far a seq may be from the receiver's wall clock */
#define SWIM_PKT_MAX 1400
#define SWIM_PKT_HDR (2 + 1 + SWIM_ADDR_LEN + 24)
#define SWIM_PKT_OVERHEAD (SWIM_PKT_HDR + 16 + 8)
#define SWIM_KEY_LEN 32

/* Secret key in sodium_malloc memory; public key alongside. Owned by whoever loaded it. */
struct swim_keys {
	uint8_t pk[SWIM_KEY_LEN];
	uint8_t *sk; /* sodium_malloc'd, SWIM_KEY_LEN */
};

/* Shared keys live in slabs of sodium_malloc'd memory (guard pages, locked, wiped when
 * freed), SWIM_KEY_SLAB keys a slab: one allocation a key costs four pages and three
 * system calls. Zero-initialise; swim_key_pool_free when done (after every key's free). */
#define SWIM_KEY_SLAB 128
struct swim_key_slab;
struct swim_key_pool {
	struct swim_key_slab *slabs;
};

/* A peer's replay window. */
struct swim_replay {
	uint64_t top;    /* highest seq accepted; 0 before the first */
	uint64_t bits;   /* bit i: top - i was seen */
};

/* One admitted peer's key: its public key and address, ours, the shared key once derived
 * (a slot of the pool), the replay window. */
struct swim_peer_key {
	uint8_t pk[SWIM_KEY_LEN];
	uint8_t addr[SWIM_ADDR_LEN];
	uint8_t self_addr[SWIM_ADDR_LEN];
	const struct swim_keys *self; /* must outlive this */
	struct swim_key_pool *pool;   /* must outlive this */
	uint8_t *shared;              /* crypto_box_BEFORENMBYTES in the pool; NULL until used */
	struct swim_replay replay;
};

/* sodium_init; 0 or -1. Safe to call more than once. */
int swim_crypto_init(void);

/* Create a new key pair file at path (mode 0600, must not exist unless force).
 * The file: a comment line, "public <64 hex>", "secret <64 hex>". 0 or -1 with err. */
int swim_keys_generate(const char *path, int force, uint8_t pk_out[SWIM_KEY_LEN], char *err,
                       size_t errlen);
/* Load and check a key pair file (not group/world readable; public matches secret). */
int swim_keys_load(const char *path, struct swim_keys *k, char *err, size_t errlen);
void swim_keys_free(struct swim_keys *k);

/* 1 if pk is an X25519 public key of small order (the seven u-coordinates, with or
 * without the ignored top bit, whose shared secret is zero whatever our secret): no key
 * agreement with it is possible, so such a peer is refused before any is tried. */
int swim_pubkey_weak(const uint8_t pk[SWIM_KEY_LEN]);

/* Set up the key shared with peer (address addr, public key pk); the key itself is derived
 * at first use (swim_peer_key_derive): the X25519 shared secret hashed (BLAKE2b, keyed by
 * it) with both addresses in order, so that a packet cannot be relabelled as coming from
 * another address even if that address registered the same public key. 0, or -1 for a
 * weak key (swim_pubkey_weak). */
int swim_peer_key_init(struct swim_peer_key *p, struct swim_key_pool *pool,
                       const struct swim_keys *self, const uint8_t self_addr[SWIM_ADDR_LEN],
                       const uint8_t pk[SWIM_KEY_LEN], const uint8_t addr[SWIM_ADDR_LEN]);
/* Derive the shared key now if it is not yet: 0, or -1 (no memory, or the key agreement
 * failed). swim_seal and swim_open call it. */
int swim_peer_key_derive(struct swim_peer_key *p);
/* Return the shared key's slot (wiped) to the pool. */
void swim_peer_key_free(struct swim_peer_key *p);
/* Free every slab; every key from the pool must have been freed. */
void swim_key_pool_free(struct swim_key_pool *pool);
/* Shared keys derived and not freed (for stats and tests). */
size_t swim_key_pool_count(const struct swim_key_pool *pool);

/* Seal body for the peer; writes the packet into out (cap >= SWIM_PKT_MAX). Returns its
 * length, or 0 if body is too long or the shared key cannot be derived. */
size_t swim_seal(struct swim_peer_key *p, const uint8_t self[SWIM_ADDR_LEN],
                 const uint8_t peer[SWIM_ADDR_LEN], uint64_t seq, const uint8_t *body,
                 size_t body_len, uint8_t *out);

/* Why a packet was dropped; counted per reason by the daemon. */
enum swim_drop {
	SWIM_DROP_NONE = 0,
	SWIM_DROP_SHORT,          /* shorter than the smallest packet */
	SWIM_DROP_OVERSIZED,      /* longer than SWIM_PKT_MAX */
	SWIM_DROP_HEADER,         /* bad magic or version */
	SWIM_DROP_UNKNOWN_SENDER, /* sender not admitted */
	SWIM_DROP_SELF,           /* claims to be from us */
	SWIM_DROP_DIRECTION,      /* reflected */
	SWIM_DROP_AUTH,           /* MAC check failed: forged, corrupted or another key */
	SWIM_DROP_REPLAY,         /* seq already seen or older than the window */
	SWIM_DROP_STALE,          /* seq more than SWIM_SEQ_SKEW_MS from our wall clock */
	SWIM_DROP_DECODE,         /* authenticated but malformed body */
	SWIM_DROP_NREASONS
};
const char *swim_drop_name(int reason);

/* First step of receiving: size and header checks; the claimed sender's address out. */
enum swim_drop swim_packet_sender(const uint8_t *pkt, size_t len, uint8_t from[SWIM_ADDR_LEN]);
/* Second step, for a known sender: check direction, open the box into body (cap >=
 * SWIM_PKT_MAX), check seq against now_us (our wall clock, microseconds) and the window,
 * and record it. body_len out. A shared key that cannot be derived fails as AUTH. */
enum swim_drop swim_open(struct swim_peer_key *p, const uint8_t self[SWIM_ADDR_LEN],
                         const uint8_t *pkt, size_t len, uint64_t now_us, uint8_t *body,
                         size_t *body_len, uint64_t *seq);

/* 1 if seq (a sender's wall clock, microseconds) is within SWIM_SEQ_SKEW_MS of now_us. */
int swim_seq_fresh(uint64_t seq, uint64_t now_us);
/* The seq to seal the next packet with: now_us, or last + 1 if the clock has not moved
 * past last (so seqs never repeat, even when the clock steps back). */
uint64_t swim_seq_next(uint64_t last, uint64_t now_us);

/* Replay window: 1 if seq is new (and records it), 0 if seen or too old. */
int swim_replay_check(struct swim_replay *r, uint64_t seq);

#endif
