/* fuzz_chain_record.c: canteen-chainwatch's decoding of contract data: paged views and event logs. */
#include <stdint.h>
#include <string.h>

#include "../../cmd/canteen-chainwatch/record.c"

/* A page of getNodes (0) or getServices (1), as chainwatch decodes it. */
static json_t *decode_page(int services, const uint8_t *data, size_t len, char *err, size_t errlen)
{
	size_t raw, skipped;
	return rec_decode_page(services, data, len, &raw, &skipped, err, errlen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* First byte: 'n' getNodes answer, 's' getServices answer, anything else one log as JSON
 * (from contract 0x5fbdb2315678afecb367f032d93f642f64180aa3). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct chainwatch cw;
	static int ready;
	char err[256];
	if (!ready) {
		if (cw_types_init(err, sizeof err) < 0)
			return 0;
		eth_addr_parse("0x5fbdb2315678afecb367f032d93f642f64180aa3", cw.contract);
		cw_event_topics(cw.topics);
		cw.st.services = json_object(); /* the state's services: a fold of the logs seen */
		cw.st.svc_meta = json_object();
		ready = 1;
	}
	if (size == 0)
		return 0;
	json_t *out = NULL;
	if (data[0] == 'n') {
		out = decode_page(0, data + 1, size - 1, err, sizeof err);
	} else if (data[0] == 's') {
		out = decode_page(1, data + 1, size - 1, err, sizeof err);
	} else {
		json_t *log = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
		int skip;
		if (log)
			out = cw_decode_log(&cw, log, &skip, err, sizeof err);
		json_decref(log);
	}
	if (out) {
		char *s = json_dumps(out, JSON_COMPACT);
		free(s);
	}
	json_decref(out);
	return 0;
}
