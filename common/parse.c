/* parse.c: strict parsers for numbers, durations, CPU, memory sizes and host:port. */
#include <ctype.h>
#include <string.h>

#include "errf.h"
#include "parse.h"

int str_copy(char *dst, size_t dstlen, const char *src)
{
	if (dstlen == 0)
		return -1;
	size_t n = strlen(src);
	if (n >= dstlen) {
		memcpy(dst, src, dstlen - 1);
		dst[dstlen - 1] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

/* v = v * 10 + digit, refusing overflow. */
static int push_digit(uint64_t *v, char c)
{
	uint64_t d = (uint64_t)(c - '0');
	if (*v > UINT64_MAX / 10 || (*v == UINT64_MAX / 10 && d > UINT64_MAX % 10))
		return -1;
	*v = *v * 10 + d;
	return 0;
}

/* Digits [. digits] into an integer scaled by 10^frac_digits; *end after the number. */
static int decimal(const char *s, unsigned frac_digits, uint64_t *out, const char **end)
{
	uint64_t v = 0;
	const char *p = s;
	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++)
		if (push_digit(&v, *p) < 0)
			return -1;
	unsigned used = 0;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		for (; isdigit((unsigned char)*p); p++) {
			if (used == frac_digits) {
				if (*p != '0')
					return -1; /* more precision than the unit allows */
				continue;
			}
			if (push_digit(&v, *p) < 0)
				return -1;
			used++;
		}
	}
	for (; used < frac_digits; used++) {
		if (v > UINT64_MAX / 10)
			return -1;
		v *= 10;
	}
	*out = v;
	*end = p;
	return 0;
}

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *err, size_t errlen)
{
	uint64_t v;
	const char *end;
	if (!s || decimal(s, 0, &v, &end) < 0 || *end || strchr(s, '.'))
		return errf(err, errlen, "'%s' is not a whole number", s ? s : "");
	if (v < min || v > max)
		return errf(err, errlen, "%s is out of range (%llu to %llu)", s, (unsigned long long)min,
		            (unsigned long long)max);
	*out = v;
	return 0;
}

int parse_duration_ms(const char *s, uint64_t *ms, char *err, size_t errlen)
{
	static const struct { const char *unit; uint64_t mult; } units[] = {
		{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"", 1},
	};
	uint64_t v;
	const char *end;
	/* Up to 3 fractional digits: "1.5s" is 1500 ms; value kept in thousandths. */
	if (!s || decimal(s, 3, &v, &end) < 0)
		return errf(err, errlen, "'%s' is not a duration (e.g. 250ms, 2s, 1.5m, 1h)", s ? s : "");
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcmp(end, units[i].unit) != 0)
			continue;
		if (v > UINT64_MAX / units[i].mult)
			return errf(err, errlen, "duration '%s' is too large", s);
		uint64_t t = v * units[i].mult;
		if (t % 1000)
			return errf(err, errlen, "duration '%s' is finer than a millisecond", s);
		*ms = t / 1000;
		return 0;
	}
	return errf(err, errlen, "'%s' has an unknown duration unit (use ms, s, m or h)", s);
}

int parse_cpu_millis(const char *s, uint64_t *millis, char *err, size_t errlen)
{
	uint64_t v;
	const char *end;
	if (s && decimal(s, 0, &v, &end) == 0 && strcmp(end, "m") == 0) {
		*millis = v;
		return 0;
	}
	if (!s || decimal(s, 3, &v, &end) < 0 || *end)
		return errf(err, errlen, "'%s' is not a CPU amount (e.g. 500m, 2, 0.25)", s ? s : "");
	*millis = v;
	return 0;
}

int parse_mem_bytes(const char *s, uint64_t *bytes, char *err, size_t errlen)
{
	static const struct { const char *unit; uint64_t mult; } units[] = {
		{"", 1},
		{"K", 1ULL << 10}, {"Ki", 1ULL << 10}, {"KB", 1ULL << 10}, {"k", 1ULL << 10},
		{"M", 1ULL << 20}, {"Mi", 1ULL << 20}, {"MB", 1ULL << 20},
		{"G", 1ULL << 30}, {"Gi", 1ULL << 30}, {"GB", 1ULL << 30},
		{"T", 1ULL << 40}, {"Ti", 1ULL << 40}, {"TB", 1ULL << 40},
	};
	uint64_t v;
	const char *end;
	if (!s || decimal(s, 3, &v, &end) < 0)
		return errf(err, errlen, "'%s' is not a memory size (e.g. 128M, 1G, 512Ki)", s ? s : "");
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcmp(end, units[i].unit) != 0)
			continue;
		if (units[i].mult > 1 && v > UINT64_MAX / units[i].mult)
			return errf(err, errlen, "memory size '%s' is too large", s);
		uint64_t t = v * units[i].mult;
		if (t % 1000)
			return errf(err, errlen, "memory size '%s' is not a whole number of bytes", s);
		*bytes = t / 1000;
		return 0;
	}
	return errf(err, errlen, "'%s' has an unknown size unit (use K, M, G or T)", s);
}

int parse_bool(const char *s, int *out, char *err, size_t errlen)
{
	static const char *yes[] = {"yes", "true", "on", "1"}, *no[] = {"no", "false", "off", "0"};
	for (int i = 0; s && i < 4; i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return errf(err, errlen, "'%s' is not yes or no", s ? s : "");
}

int parse_hostport(const char *s, char *host, size_t hostlen, uint16_t *port, char *err,
                   size_t errlen)
{
	const char *colon, *h = s;
	size_t hl;
	if (!s || !*s)
		return errf(err, errlen, "empty address (want host:port)");
	if (*s == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return errf(err, errlen, "'%s' is not [ipv6]:port", s);
		h = s + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || strchr(s, ':') != colon)
			return errf(err, errlen, "'%s' is not host:port", s);
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= hostlen)
		return errf(err, errlen, "'%s' has an empty or over-long host", s);
	for (size_t i = 0; i < hl; i++) {
		unsigned char c = (unsigned char)h[i];
		if (!isalnum(c) && c != '.' && c != '-' && c != ':' && c != '_')
			return errf(err, errlen, "'%s' has an invalid character in its host", s);
	}
	uint64_t p;
	if (parse_u64(colon + 1, 1, 65535, &p, NULL, 0) < 0)
		return errf(err, errlen, "'%s' has an invalid port (1-65535)", s);
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (uint16_t)p;
	return 0;
}
