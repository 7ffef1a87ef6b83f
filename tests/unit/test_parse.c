/* test_parse.c: strict number, duration, CPU, memory and address parsing. */
#include "parse.h"
#include "tap.h"

int main(void)
{
	char err[256];
	uint64_t v;
	uint16_t port;
	char host[64];
	int b;

	ok(parse_u64("42", 0, 100, &v, err, sizeof err) == 0 && v == 42, "u64 42");
	ok(parse_u64("101", 0, 100, &v, err, sizeof err) < 0, "u64 over max refused: %s", err);
	ok(parse_u64("-1", 0, 100, &v, err, sizeof err) < 0, "u64 negative refused");
	ok(parse_u64("1x", 0, 100, &v, err, sizeof err) < 0, "u64 trailing junk refused");
	ok(parse_u64(" 1", 0, 100, &v, err, sizeof err) < 0, "u64 leading space refused");
	ok(parse_u64("", 0, 100, &v, err, sizeof err) < 0, "u64 empty refused");
	ok(parse_u64("1.0", 0, 100, &v, err, sizeof err) < 0, "u64 fraction refused");
	ok(parse_u64("18446744073709551616", 0, UINT64_MAX, &v, err, sizeof err) < 0, "u64 overflow refused");
	ok(parse_u64("18446744073709551615", 0, UINT64_MAX, &v, err, sizeof err) == 0 && v == UINT64_MAX,
	   "u64 max accepted");

	ok(parse_duration_ms("250ms", &v, err, sizeof err) == 0 && v == 250, "250ms");
	ok(parse_duration_ms("2s", &v, err, sizeof err) == 0 && v == 2000, "2s");
	ok(parse_duration_ms("1.5s", &v, err, sizeof err) == 0 && v == 1500, "1.5s");
	ok(parse_duration_ms("2m", &v, err, sizeof err) == 0 && v == 120000, "2m");
	ok(parse_duration_ms("1h", &v, err, sizeof err) == 0 && v == 3600000, "1h");
	ok(parse_duration_ms("300", &v, err, sizeof err) == 0 && v == 300, "bare number is ms");
	ok(parse_duration_ms("1.5ms", &v, err, sizeof err) < 0, "sub-millisecond refused: %s", err);
	ok(parse_duration_ms("5d", &v, err, sizeof err) < 0, "unknown unit refused: %s", err);
	ok(parse_duration_ms("s", &v, err, sizeof err) < 0, "unit without number refused");
	ok(parse_duration_ms("99999999999999999999h", &v, err, sizeof err) < 0, "huge duration refused");

	ok(parse_cpu_millis("500m", &v, err, sizeof err) == 0 && v == 500, "500m");
	ok(parse_cpu_millis("2", &v, err, sizeof err) == 0 && v == 2000, "2 cores");
	ok(parse_cpu_millis("0.25", &v, err, sizeof err) == 0 && v == 250, "0.25 cores");
	ok(parse_cpu_millis("0.0005", &v, err, sizeof err) < 0, "finer than a millicore refused");
	ok(parse_cpu_millis("1.5m", &v, err, sizeof err) < 0, "fractional millicores refused");
	ok(parse_cpu_millis("abc", &v, err, sizeof err) < 0, "garbage CPU refused: %s", err);

	ok(parse_mem_bytes("128M", &v, err, sizeof err) == 0 && v == 128ull << 20, "128M");
	ok(parse_mem_bytes("1G", &v, err, sizeof err) == 0 && v == 1ull << 30, "1G");
	ok(parse_mem_bytes("512Ki", &v, err, sizeof err) == 0 && v == 512ull << 10, "512Ki");
	ok(parse_mem_bytes("1.5G", &v, err, sizeof err) == 0 && v == 3ull << 29, "1.5G");
	ok(parse_mem_bytes("100", &v, err, sizeof err) == 0 && v == 100, "bytes");
	ok(parse_mem_bytes("12Q", &v, err, sizeof err) < 0, "unknown size unit refused: %s", err);
	ok(parse_mem_bytes("99999999999T", &v, err, sizeof err) < 0, "overflowing size refused");

	ok(parse_bool("yes", &b, err, sizeof err) == 0 && b == 1, "yes");
	ok(parse_bool("off", &b, err, sizeof err) == 0 && b == 0, "off");
	ok(parse_bool("maybe", &b, err, sizeof err) < 0, "maybe refused");

	ok(parse_hostport("127.0.0.2:7946", host, sizeof host, &port, err, sizeof err) == 0 &&
	   strcmp(host, "127.0.0.2") == 0 && port == 7946, "host:port");
	ok(parse_hostport("[::1]:80", host, sizeof host, &port, err, sizeof err) == 0 &&
	   strcmp(host, "::1") == 0 && port == 80, "[v6]:port");
	ok(parse_hostport("host:0", host, sizeof host, &port, err, sizeof err) < 0, "port 0 refused");
	ok(parse_hostport("host:70000", host, sizeof host, &port, err, sizeof err) < 0, "port > 65535 refused");
	ok(parse_hostport("host", host, sizeof host, &port, err, sizeof err) < 0, "missing port refused");
	ok(parse_hostport(":80", host, sizeof host, &port, err, sizeof err) < 0, "missing host refused");
	ok(parse_hostport("a b:80", host, sizeof host, &port, err, sizeof err) < 0, "space in host refused");

	char small[4];
	ok(str_copy(small, sizeof small, "abc") == 0 && strcmp(small, "abc") == 0, "str_copy fits");
	ok(str_copy(small, sizeof small, "abcd") < 0 && strcmp(small, "abc") == 0, "str_copy truncates and says so");
	return done_testing();
}
