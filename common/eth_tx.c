/* eth_tx.c: RLP transaction encoding, secp256k1 recoverable signing and sender recovery. */
#include <pthread.h>
#include <string.h>

#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <sodium.h>

#include "errf.h"
#include "eth_keccak.h"
#include "eth_rlp.h"
#include "eth_tx.h"

/* One signing context per process, randomised once; secp256k1 contexts are read-only
 * after creation, so sharing it between threads is fine. */
static secp256k1_context *sign_ctx;
static pthread_once_t sign_once = PTHREAD_ONCE_INIT;

/* Randomising blinds the secret key against timing and power side channels; a context
 * that cannot be randomised is not used at all (every call then fails). */
static void ctx_init(void)
{
	uint8_t seed[32];
	if (sodium_init() < 0)
		return;
	sign_ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	randombytes_buf(seed, sizeof seed);
	if (sign_ctx && !secp256k1_context_randomize(sign_ctx, seed)) {
		secp256k1_context_destroy(sign_ctx);
		sign_ctx = NULL;
	}
	sodium_memzero(seed, sizeof seed);
}

static secp256k1_context *ctx(void)
{
	pthread_once(&sign_once, ctx_init);
	return sign_ctx;
}

int eth_key_to_address(const uint8_t key[32], uint8_t addr[ETH_ADDR_LEN])
{
	secp256k1_pubkey pub;
	uint8_t ser[65], h[32];
	size_t n = sizeof ser;
	if (!ctx() || !secp256k1_ec_pubkey_create(ctx(), &pub, key))
		return -1;
	secp256k1_ec_pubkey_serialize(ctx(), ser, &n, &pub, SECP256K1_EC_UNCOMPRESSED);
	eth_keccak256(ser + 1, 64, h);
	memcpy(addr, h + 12, ETH_ADDR_LEN);
	return 0;
}

int eth_sign_hash(const uint8_t key[32], const uint8_t hash[32], uint8_t sig[65])
{
	secp256k1_ecdsa_recoverable_signature rs;
	int recid;
	if (!ctx() || !secp256k1_ecdsa_sign_recoverable(ctx(), &rs, hash, key, NULL, NULL))
		return -1;
	secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx(), sig, &recid, &rs);
	sig[64] = (uint8_t)recid;
	return 0;
}

int eth_recover(const uint8_t hash[32], const uint8_t sig[65], uint8_t addr[ETH_ADDR_LEN])
{
	secp256k1_ecdsa_recoverable_signature rs;
	secp256k1_ecdsa_signature plain;
	secp256k1_pubkey pub;
	uint8_t ser[65], h[32];
	size_t n = sizeof ser;
	if (!ctx() || sig[64] > 1 ||
	    !secp256k1_ecdsa_recoverable_signature_parse_compact(ctx(), &rs, sig, sig[64]))
		return -1;
	/* Ethereum accepts only low-s signatures (EIP-2). */
	secp256k1_ecdsa_recoverable_signature_convert(ctx(), &plain, &rs);
	if (secp256k1_ecdsa_signature_normalize(ctx(), NULL, &plain))
		return -1;
	if (!secp256k1_ecdsa_recover(ctx(), &pub, &rs, hash))
		return -1;
	secp256k1_ec_pubkey_serialize(ctx(), ser, &n, &pub, SECP256K1_EC_UNCOMPRESSED);
	eth_keccak256(ser + 1, 64, h);
	memcpy(addr, h + 12, ETH_ADDR_LEN);
	return 0;
}

void eth_create_address(const uint8_t sender[ETH_ADDR_LEN], uint64_t nonce,
                        uint8_t out[ETH_ADDR_LEN])
{
	struct eth_buf b;
	uint8_t h[32];
	eth_buf_init(&b);
	size_t l = rlp_list_begin(&b);
	rlp_put_bytes(&b, sender, ETH_ADDR_LEN);
	rlp_put_uint(&b, nonce);
	rlp_list_end(&b, l);
	eth_keccak256(b.p, b.len, h);
	memcpy(out, h + 12, ETH_ADDR_LEN);
	eth_buf_free(&b);
}

/* The fields every signing payload and signed form share, in order. */
static void put_fields(struct eth_buf *b, const struct eth_tx *tx)
{
	if (tx->type == ETH_TX_1559) {
		rlp_put_uint(b, tx->chain_id);
		rlp_put_uint(b, tx->nonce);
		rlp_put_uint(b, tx->max_priority_fee);
		rlp_put_uint(b, tx->max_fee);
	} else {
		rlp_put_uint(b, tx->nonce);
		rlp_put_uint(b, tx->gas_price);
	}
	rlp_put_uint(b, tx->gas_limit);
	rlp_put_bytes(b, tx->to, tx->has_to ? ETH_ADDR_LEN : 0);
	rlp_put_u256(b, tx->value);
	rlp_put_bytes(b, tx->data, tx->data_len);
	if (tx->type == ETH_TX_1559) {
		size_t al = rlp_list_begin(b); /* empty access list */
		rlp_list_end(b, al);
	}
}

/* Type 2: 0x02 || rlp([fields..., (yParity, r, s)]); legacy: rlp([fields..., v, r, s]). */
static void encode_tx(struct eth_buf *b, const struct eth_tx *tx, const uint8_t *sig)
{
	eth_buf_reset(b);
	if (tx->type == ETH_TX_1559)
		eth_buf_put_byte(b, ETH_TX_1559);
	size_t l = rlp_list_begin(b);
	put_fields(b, tx);
	if (sig) {
		uint64_t v = tx->type == ETH_TX_1559 ? sig[64] : tx->chain_id * 2 + 35 + sig[64];
		uint8_t r[32], s[32];
		memcpy(r, sig, 32);
		memcpy(s, sig + 32, 32);
		rlp_put_uint(b, v);
		rlp_put_u256(b, r);
		rlp_put_u256(b, s);
	} else if (tx->type == ETH_TX_LEGACY) {
		rlp_put_uint(b, tx->chain_id);
		rlp_put_uint(b, 0);
		rlp_put_uint(b, 0);
	}
	rlp_list_end(b, l);
}

int eth_tx_sign(const struct eth_tx *tx, const uint8_t key[32], struct eth_buf *raw,
                uint8_t hash[32], char *err, size_t errlen)
{
	uint8_t sighash[32], sig[65];
	if (tx->type != ETH_TX_1559 && tx->type != ETH_TX_LEGACY)
		return errf(err, errlen, "unsupported transaction type %d", tx->type);
	if (tx->type == ETH_TX_LEGACY && tx->chain_id > (UINT64_MAX - 36) / 2)
		return errf(err, errlen, "chain id too large for a legacy transaction");
	encode_tx(raw, tx, NULL);
	if (raw->err)
		return errf(err, errlen, "transaction too large");
	eth_keccak256(raw->p, raw->len, sighash);
	if (eth_sign_hash(key, sighash, sig) < 0)
		return errf(err, errlen, "signing failed (invalid private key?)");
	encode_tx(raw, tx, sig);
	memset(sig, 0, sizeof sig);
	if (raw->err)
		return errf(err, errlen, "transaction too large");
	eth_keccak256(raw->p, raw->len, hash);
	return 0;
}

/* Read the next list item as an integer / address / bytes. */
static int next_uint(const struct rlp_item *l, size_t *pos, uint64_t *v)
{
	struct rlp_item it;
	return rlp_list_next(l, pos, &it) == 1 && rlp_item_uint(&it, v) == 0 ? 0 : -1;
}

static int next_u256(const struct rlp_item *l, size_t *pos, uint8_t w[32])
{
	struct rlp_item it;
	return rlp_list_next(l, pos, &it) == 1 && rlp_item_u256(&it, w) == 0 ? 0 : -1;
}

static int decode_fields(const struct rlp_item *l, size_t *pos, struct eth_tx *tx)
{
	struct rlp_item it;
	if (tx->type == ETH_TX_1559) {
		if (next_uint(l, pos, &tx->chain_id) || next_uint(l, pos, &tx->nonce) ||
		    next_uint(l, pos, &tx->max_priority_fee) || next_uint(l, pos, &tx->max_fee))
			return -1;
	} else if (next_uint(l, pos, &tx->nonce) || next_uint(l, pos, &tx->gas_price)) {
		return -1;
	}
	if (next_uint(l, pos, &tx->gas_limit) || rlp_list_next(l, pos, &it) != 1 || it.is_list ||
	    (it.len != 0 && it.len != ETH_ADDR_LEN))
		return -1;
	tx->has_to = it.len == ETH_ADDR_LEN;
	if (tx->has_to)
		memcpy(tx->to, it.p, ETH_ADDR_LEN);
	if (next_u256(l, pos, tx->value) || rlp_list_next(l, pos, &it) != 1 || it.is_list)
		return -1;
	tx->data = it.p;
	tx->data_len = it.len;
	if (tx->type == ETH_TX_1559) {
		/* Access lists are accepted only empty: canteen never makes others. */
		if (rlp_list_next(l, pos, &it) != 1 || !it.is_list || it.len != 0)
			return -1;
	}
	return 0;
}

int eth_tx_decode(const uint8_t *raw, size_t len, struct eth_tx *tx, uint8_t from[ETH_ADDR_LEN],
                  uint8_t hash[32], char *err, size_t errlen)
{
	struct rlp_item list;
	struct eth_buf b;
	uint8_t sig[65], sighash[32];
	uint64_t v;
	size_t pos = 0;
	int rc = -1;
	memset(tx, 0, sizeof *tx);
	eth_buf_init(&b);
	if (len == 0)
		return errf(err, errlen, "empty transaction");
	tx->type = raw[0] == ETH_TX_1559 ? ETH_TX_1559 : ETH_TX_LEGACY;
	if (raw[0] < 0xc0 && raw[0] != ETH_TX_1559)
		return errf(err, errlen, "unsupported transaction type 0x%02x", raw[0]);
	size_t skip = tx->type == ETH_TX_1559 ? 1 : 0;
	if (rlp_decode(raw + skip, len - skip, &list) < 0 || !list.is_list ||
	    decode_fields(&list, &pos, tx) < 0 || next_uint(&list, &pos, &v) ||
	    next_u256(&list, &pos, sig) || next_u256(&list, &pos, sig + 32)) {
		errf(err, errlen, "malformed transaction");
		goto done;
	}
	struct rlp_item extra;
	if (rlp_list_next(&list, &pos, &extra) != 0) {
		errf(err, errlen, "malformed transaction: extra fields");
		goto done;
	}
	if (tx->type == ETH_TX_1559) {
		if (v > 1) {
			errf(err, errlen, "bad signature parity");
			goto done;
		}
		sig[64] = (uint8_t)v;
	} else {
		if (v < 37) {
			errf(err, errlen, "legacy transaction without EIP-155 chain id");
			goto done;
		}
		tx->chain_id = (v - 35) / 2;
		sig[64] = (uint8_t)((v - 35) % 2);
	}
	encode_tx(&b, tx, NULL);
	if (b.err) {
		errf(err, errlen, "transaction too large");
		goto done;
	}
	eth_keccak256(b.p, b.len, sighash);
	if (eth_recover(sighash, sig, from) < 0) {
		errf(err, errlen, "signature does not recover");
		goto done;
	}
	eth_keccak256(raw, len, hash);
	rc = 0;
done:
	eth_buf_free(&b);
	return rc;
}
