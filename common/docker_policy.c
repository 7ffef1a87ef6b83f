/* docker_policy.c: the node's container policy (canteen.conf's policy_* keys): checks and defaults. */
#include <stdio.h>
#include <string.h>

#include "docker_policy.h"
#include "errf.h"
#include "parse.h"

/* Linux capabilities as Docker names them (capabilities(7) without "CAP_"). */
static const char *const caps[] = {
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID",
	"SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN",
	"NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE",
	"SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME",
	"SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
	"MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ",
	"PERFMON", "BPF", "CHECKPOINT_RESTORE",
};

/* The next comma-separated item of *s, trimmed, into buf; 0 at the end, -1 if too long. */
static int next_item(const char **s, char *buf, size_t buflen)
{
	const char *p = *s;
	while (*p == ' ' || *p == '\t' || *p == ',')
		p++;
	if (!*p)
		return 0;
	const char *end = strchr(p, ',');
	size_t n = end ? (size_t)(end - p) : strlen(p);
	*s = p + n;
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n >= buflen)
		return -1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return 1;
}

/* "none", or ranges "N" and "N-M" (1..65535), comma-separated. */
static int ports_parse(const char *s, struct docker_policy *p, char *err, size_t errlen)
{
	char item[64], lo_s[64], why[128];
	int r;
	str_copy(p->ports_text, sizeof p->ports_text, s);
	if (strcmp(s, "none") == 0)
		return 0;
	while ((r = next_item(&s, item, sizeof item)) != 0) {
		uint64_t lo, hi;
		const char *dash = r > 0 ? strchr(item, '-') : NULL;
		str_copy(lo_s, sizeof lo_s, item);
		if (dash)
			lo_s[dash - item] = '\0';
		if (r < 0 || parse_u64(lo_s, 1, 65535, &lo, why, sizeof why) < 0 ||
		    parse_u64(dash ? dash + 1 : item, 1, 65535, &hi, why, sizeof why) < 0 || hi < lo)
			return errf(err, errlen, "policy_ports: '%s' is not a port or a range LOW-HIGH "
			            "of ports 1-65535 (or \"none\")", r < 0 ? "(too long)" : item);
		if (p->nports == DOCKER_POLICY_RANGES_MAX)
			return errf(err, errlen, "policy_ports: more than %d ranges",
			            DOCKER_POLICY_RANGES_MAX);
		p->ports[p->nports].lo = (uint16_t)lo;
		p->ports[p->nports++].hi = (uint16_t)hi;
	}
	if (p->nports == 0)
		return errf(err, errlen, "policy_ports: empty (write \"none\" to allow no host port)");
	return 0;
}

static int hex64(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* One pattern of policy_images: "*", "sha256:<hex>", "PREFIX/...", or a reference. */
static int image_pattern_ok(const char *pat)
{
	size_t nl, tl, n = strlen(pat);
	const char *tag, *digest;
	char prefix[DOCKER_IMAGE_MAX];
	if (strcmp(pat, "*") == 0)
		return 1;
	if (strncmp(pat, "sha256:", 7) == 0)
		return hex64(pat + 7);
	if (n > 2 && strcmp(pat + n - 2, "/*") == 0) {
		if (n - 2 >= sizeof prefix)
			return 0;
		memcpy(prefix, pat, n - 2);
		prefix[n - 2] = '\0';
		return rec_image_parts(prefix, &nl, &tag, &tl, &digest) == 0 && !tag && !digest;
	}
	return rec_image_parts(pat, &nl, &tag, &tl, &digest) == 0;
}

static int images_parse(const char *s, struct docker_policy *p, char *err, size_t errlen)
{
	char item[DOCKER_IMAGE_MAX];
	int r;
	while ((r = next_item(&s, item, sizeof item)) != 0) {
		if (r < 0 || !image_pattern_ok(item))
			return errf(err, errlen, "policy_images: '%.64s' is not \"*\", sha256:<64 hex>, "
			            "PREFIX/* or an image reference", r < 0 ? "(too long)" : item);
		if (p->nimages == DOCKER_POLICY_IMAGES_MAX)
			return errf(err, errlen, "policy_images: more than %d patterns",
			            DOCKER_POLICY_IMAGES_MAX);
		str_copy(p->images[p->nimages++], sizeof p->images[0], item);
	}
	return 0;
}

static int caps_parse(const char *s, struct docker_policy *p, char *err, size_t errlen)
{
	char item[32];
	int r;
	if (strcmp(s, "none") == 0)
		return 0;
	while ((r = next_item(&s, item, sizeof item)) != 0) {
		const char *name = NULL;
		const char *bare = r > 0 && strncmp(item, "CAP_", 4) == 0 ? item + 4 : item;
		for (size_t i = 0; r > 0 && !name && i < sizeof caps / sizeof caps[0]; i++)
			if (strcmp(bare, caps[i]) == 0)
				name = caps[i];
		if (!name)
			return errf(err, errlen, "policy_cap_drop: '%s' is not a Linux capability "
			            "(NET_RAW, MKNOD, ...; or \"none\")", r < 0 ? "(too long)" : item);
		int dup = 0;
		for (size_t i = 0; i < p->ncap_drop; i++)
			dup = dup || p->cap_drop[i] == name;
		if (!dup && p->ncap_drop < DOCKER_POLICY_CAPS_MAX)
			p->cap_drop[p->ncap_drop++] = name;
	}
	if (p->ncap_drop == 0)
		return errf(err, errlen, "policy_cap_drop: empty (write \"none\" to drop nothing)");
	return 0;
}

int docker_policy_from_conf(const struct conf *c, struct docker_policy *p, char *err,
                            size_t errlen)
{
	char why[128];
	memset(p, 0, sizeof *p);
	if (ports_parse(c->policy_ports, p, err, errlen) < 0 ||
	    images_parse(c->policy_images, p, err, errlen) < 0 ||
	    caps_parse(c->policy_cap_drop, p, err, errlen) < 0)
		return -1;
	if (parse_bool(c->policy_read_only, &p->read_only, why, sizeof why) < 0)
		return errf(err, errlen, "policy_read_only: %s", why);
	p->max_cpu_millis = c->policy_max_cpu_millis;
	p->max_mem_mib = c->policy_max_mem_mib;
	p->default_cpu_millis = c->policy_default_cpu_millis;
	p->default_mem_mib = c->policy_default_mem_mib;
	p->pids_limit = c->policy_pids_limit;
	if (p->max_cpu_millis && p->default_cpu_millis > p->max_cpu_millis)
		return errf(err, errlen, "policy_default_cpu_millis %llu is above policy_max_cpu_millis %llu",
		            (unsigned long long)p->default_cpu_millis,
		            (unsigned long long)p->max_cpu_millis);
	if (p->max_mem_mib && p->default_mem_mib > p->max_mem_mib)
		return errf(err, errlen, "policy_default_mem_mib %llu is above policy_max_mem_mib %llu",
		            (unsigned long long)p->default_mem_mib, (unsigned long long)p->max_mem_mib);
	if ((p->max_mem_mib && p->max_mem_mib < REC_RUN_MEM_MIB_MIN) ||
	    (p->default_mem_mib && p->default_mem_mib < REC_RUN_MEM_MIB_MIN))
		return errf(err, errlen, "policy_max_mem_mib and policy_default_mem_mib must be 0 or "
		            "at least %d (Docker refuses less)", REC_RUN_MEM_MIB_MIN);
	return 0;
}

/* Does reference ref (valid) match pattern pat (valid, see image_pattern_ok)? */
static int image_match(const char *pat, const char *ref)
{
	size_t nl, tl, pnl, ptl, n = strlen(pat);
	const char *tag, *digest, *ptag, *pdigest;
	if (rec_image_parts(ref, &nl, &tag, &tl, &digest) < 0)
		return 0;
	if (strcmp(pat, "*") == 0)
		return 1;
	if (strncmp(pat, "sha256:", 7) == 0)
		return digest && strcmp(digest, pat) == 0;
	if (n > 2 && strcmp(pat + n - 2, "/*") == 0)
		return nl > n - 1 && memcmp(ref, pat, n - 1) == 0;
	if (rec_image_parts(pat, &pnl, &ptag, &ptl, &pdigest) < 0 || pnl != nl ||
	    memcmp(ref, pat, nl) != 0)
		return 0;
	if (pdigest && (!digest || strcmp(pdigest, digest) != 0))
		return 0;
	if (ptag) {
		/* A reference with neither tag nor digest is Docker's "latest". */
		if (tag ? (tl != ptl || memcmp(tag, ptag, tl) != 0)
		        : (digest || ptl != 6 || memcmp(ptag, "latest", 6) != 0))
			return 0;
	}
	return 1;
}

int docker_policy_image_ok(const struct docker_policy *p, const char *ref)
{
	if (p->nimages == 0)
		return 1;
	for (size_t i = 0; i < p->nimages; i++)
		if (image_match(p->images[i], ref))
			return 1;
	return 0;
}

/* A limit of the spec (0: none) under a cap and a default: *out, or -1 when above the cap. */
static int limit(uint64_t asked, uint64_t max, uint64_t def, uint64_t *out)
{
	if (max && asked > max)
		return -1;
	*out = asked ? asked : def ? def : max;
	return 0;
}

int docker_policy_check(const struct docker_policy *p, struct docker_spec *s, char *err,
                        size_t errlen)
{
	uint64_t cpu, mem;
	if (!docker_policy_image_ok(p, s->image))
		return errf(err, errlen, "by node policy (image %s is not in policy_images)", s->image);
	for (size_t i = 0; i < s->nports; i++) {
		int in = 0;
		for (size_t k = 0; !in && k < p->nports; k++)
			in = s->ports[i].host >= p->ports[k].lo && s->ports[i].host <= p->ports[k].hi;
		if (!in)
			return errf(err, errlen, "by node policy (host port %u/%s is outside policy_ports %.64s)",
			            s->ports[i].host, s->ports[i].proto, p->ports_text);
	}
	if (limit(s->cpu_millis, p->max_cpu_millis, p->default_cpu_millis, &cpu) < 0)
		return errf(err, errlen, "by node policy (cpu_millis %llu is above policy_max_cpu_millis %llu)",
		            (unsigned long long)s->cpu_millis, (unsigned long long)p->max_cpu_millis);
	if (limit(s->mem_mib, p->max_mem_mib, p->default_mem_mib, &mem) < 0)
		return errf(err, errlen, "by node policy (mem_mib %llu is above policy_max_mem_mib %llu)",
		            (unsigned long long)s->mem_mib, (unsigned long long)p->max_mem_mib);
	s->cpu_millis = cpu;
	s->mem_mib = mem;
	return 0;
}
