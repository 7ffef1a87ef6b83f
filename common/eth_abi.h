/* eth_abi.h: Solidity ABI types, a small value tree, encoding and strict decoding. */
#ifndef CANTEEN_ETH_ABI_H
#define CANTEEN_ETH_ABI_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "eth_util.h"

#define ABI_MAX_DEPTH 16        /* nesting of arrays and tuples */
#define ABI_MAX_FIXED 4096      /* largest k in T[k] */
#define ABI_MAX_VALUES 1000000  /* values one decode may produce */
/* Bytes of strings a decode may copy: 4 per input byte, and at least this much, so that
 * any record the contract takes decodes however its call aliased the offsets (a service
 * spec: 64 command and 64 env items of 1024 bytes, ~131 KiB, from a few KiB of input). */
#define ABI_MIN_BUDGET (256 * 1024)

enum abi_kind {
	ABI_UINT, ABI_INT, ABI_ADDRESS, ABI_BOOL, ABI_BYTESN, ABI_BYTES, ABI_STRING,
	ABI_ARRAY, /* T[] (fixed < 0) or T[k] */
	ABI_TUPLE,
};

struct abi_type {
	enum abi_kind kind;
	unsigned size;            /* bits of uintN/intN, bytes of bytesN */
	long fixed;               /* ABI_ARRAY: -1 for T[], else k */
	struct abi_type *elem;    /* ABI_ARRAY */
	struct abi_type **comps;  /* ABI_TUPLE */
	size_t ncomps;
};

/* "uint256", "(string,uint32[])[]", "bytes32[2]"... Caller frees with abi_type_free. */
struct abi_type *abi_type_parse(const char *s, char *err, size_t errlen);
/* "name(t1,t2)": the arguments as one tuple type and the 4-byte selector of the
 * canonical signature. name may be NULL. */
struct abi_type *abi_sig_parse(const char *sig, uint8_t selector[4], char *err, size_t errlen);
/* One parameter of a contract's JSON ABI ({"type":"tuple[]","components":[...]}), or the
 * tuple of a "inputs"/"outputs" array. */
struct abi_type *abi_type_from_json(const json_t *param, char *err, size_t errlen);
struct abi_type *abi_tuple_from_json(const json_t *params, char *err, size_t errlen);
void abi_type_free(struct abi_type *t);
/* Canonical name ("uint256", "(address,bool)[]"); -1 if out is too small. */
int abi_type_name(const struct abi_type *t, char *out, size_t outlen);
int abi_type_is_dynamic(const struct abi_type *t);

/*
 * Values. Scalars hold one 32-byte big-endian word as it is encoded (intN in two's
 * complement, address right-aligned, bytesN left-aligned); bytes and string own data
 * (string data is NUL-terminated, len excludes the NUL); arrays and tuples own items.
 * Constructors return NULL when out of memory. abi_tuple and abi_push take ownership
 * of their arguments even when they fail, so builders need one NULL check at the end.
 */
struct abi_value {
	enum abi_kind kind;
	uint8_t word[32];
	uint8_t *data;
	size_t len;
	struct abi_value **items;
	size_t n;
};

struct abi_value *abi_uint(uint64_t v);
struct abi_value *abi_u256(const uint8_t be[32]);
struct abi_value *abi_int(int64_t v);
struct abi_value *abi_addr(const uint8_t addr[ETH_ADDR_LEN]);
struct abi_value *abi_bool(int b);
struct abi_value *abi_bytesn(const uint8_t *p, size_t n); /* n <= 32 */
struct abi_value *abi_bytes(const uint8_t *p, size_t n);
struct abi_value *abi_str(const char *s);
struct abi_value *abi_strn(const char *s, size_t n);
/* An empty ABI_ARRAY or ABI_TUPLE to fill with abi_push. */
struct abi_value *abi_list(enum abi_kind kind);
int abi_push(struct abi_value *list, struct abi_value *item);
/* abi_tuple(n, v1, ..., vn). */
struct abi_value *abi_tuple(size_t n, ...);
void abi_value_free(struct abi_value *v);

/* Accessors for decoded values (no checks beyond the kind: decode validated them). */
uint64_t abi_get_u64(const struct abi_value *v, int *overflow);
const char *abi_get_str(const struct abi_value *v);

/*
 * Append the encoding of v (which must match t) to out. A tuple type encodes as the
 * argument list of a call. 0, or -1 with a sentence in err.
 */
int abi_encode(const struct abi_type *t, const struct abi_value *v, struct eth_buf *out, char *err,
               size_t errlen);
/* selector + encoded arguments for "name(types)" with args a tuple value. */
int abi_encode_call(const char *sig, const struct abi_value *args, struct eth_buf *out, char *err,
                    size_t errlen);

/*
 * Decode untrusted data as t (a tuple type decodes return data or revert arguments).
 * Every offset and length is checked against the input, values are range-checked
 * (uintN high bits, bool 0/1, address padding), and the total work is bounded, so
 * any input gives either a value or an error. Caller frees *out.
 */
int abi_decode(const struct abi_type *t, const uint8_t *data, size_t len, struct abi_value **out,
               char *err, size_t errlen);

/*
 * JSON bridges (eth_abi_json.c). From JSON: integers as JSON integers or decimal / 0x
 * strings (negative allowed for intN), address/bytes as hex strings, bool as true/false,
 * arrays and tuples as JSON arrays. To JSON: integers that fit in 64 bits as JSON
 * integers, others as decimal strings; bytes as hex strings; tuples as arrays.
 */
struct abi_value *abi_value_from_json(const struct abi_type *t, const json_t *j, char *err,
                                      size_t errlen);
json_t *abi_value_to_json(const struct abi_type *t, const struct abi_value *v);
/*
 * The same guided by a contract's JSON ABI parameter (param = {"type","components"}):
 * tuples may be given as JSON objects keyed by component name, and come out as such.
 * t must be abi_type_from_json(param).
 */
struct abi_value *abi_value_from_param(const json_t *param, const struct abi_type *t,
                                       const json_t *j, char *err, size_t errlen);
json_t *abi_value_to_param(const json_t *param, const struct abi_type *t,
                           const struct abi_value *v);
/*
 * A contract's JSON ABI (the array solc writes), by function and event name.
 * abi_call_encode appends selector + arguments of function fn; args is a JSON array with
 * one item per input (tuples as objects keyed by field name, or arrays).
 * abi_call_decode turns return data into a JSON array, one item per output.
 * abi_log_decode finds the event whose topic0 is topics[0] and returns its name and an
 * object of its fields (indexed static fields from the topics, the rest from data;
 * indexed dynamic fields are only hashes and come back as their hex topic).
 * All return 0, or -1 with a sentence in err; *out is owned by the caller.
 */
int abi_call_encode(const json_t *abi, const char *fn, const json_t *args, struct eth_buf *out,
                    char *err, size_t errlen);
int abi_call_decode(const json_t *abi, const char *fn, const uint8_t *data, size_t len,
                    json_t **out, char *err, size_t errlen);
int abi_log_decode(const json_t *abi, const uint8_t (*topics)[32], size_t ntopics,
                   const uint8_t *data, size_t len, const char **name, json_t **out, char *err,
                   size_t errlen);
/* keccak256 of the canonical signature of ABI item (function, event or error): the
 * event topic; its first four bytes are a function's or error's selector. */
int abi_item_hash(const json_t *item, uint8_t out[32]);
const json_t *abi_find(const json_t *abi, const char *type, const char *name);

/* Decimal string of a 256-bit word (signed: two's complement). out >= 80 bytes. */
void abi_word_decimal(const uint8_t w[32], int is_signed, char *out, size_t outlen);

/*
 * Revert data to one readable phrase: Error(string) gives the message, Panic(uint256)
 * its meaning, a custom error found in abi (the contract's JSON ABI array, may be NULL)
 * gives "Name(arg, ...)", anything else its selector in hex. Returns out.
 */
const char *abi_revert_reason(const uint8_t *data, size_t len, const json_t *abi, char *out,
                              size_t outlen);

#endif
