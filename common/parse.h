/* parse.h: strict parsing of numbers, sizes, durations, CPU amounts and addresses. */
#ifndef CANTEEN_PARSE_H
#define CANTEEN_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* All return 0 on success, -1 with a sentence in err. No leading/trailing junk,
 * no signs, no overflow. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *err, size_t errlen);
/* "250ms", "1s", "1.5s", "2m", "1h", "100us"? no: ms resolution; bare number = ms. */
int parse_duration_ms(const char *s, uint64_t *ms, char *err, size_t errlen);
/* CPU in millicores: "500m" = 500, "2" = 2000, "0.25" = 250. */
int parse_cpu_millis(const char *s, uint64_t *millis, char *err, size_t errlen);
/* Memory in bytes: "128M", "1G", "512K", "64Mi", "1Gi", "100" (bytes); K/M/G/T binary. */
int parse_mem_bytes(const char *s, uint64_t *bytes, char *err, size_t errlen);
/* "yes/no/true/false/on/off/1/0". */
int parse_bool(const char *s, int *out, char *err, size_t errlen);
/* "host:port" (IPv4 dotted quad or name; "[v6]:port"). host is NUL-terminated. */
int parse_hostport(const char *s, char *host, size_t hostlen, uint16_t *port, char *err,
                   size_t errlen);

/* Bounded string copy; returns -1 if truncated (dst still NUL-terminated). */
int str_copy(char *dst, size_t dstlen, const char *src);

#endif
