/* docker_logs.c: Docker's log stream: the 8-byte frame headers of a container without a TTY, undone. */
#include <string.h>

#include "docker_logs.h"
#include "errf.h"

int docker_demux_feed(struct docker_demux *m, const char *in, size_t n, docker_demux_cb out,
                      void *arg, char *err, size_t errlen)
{
	while (n > 0) {
		if (m->left == 0) {
			size_t take = 8 - m->hlen < n ? 8 - m->hlen : n;
			memcpy(m->hdr + m->hlen, in, take);
			m->hlen += take;
			in += take;
			n -= take;
			if (m->hlen < 8)
				return 0;
			m->hlen = 0;
			if (m->hdr[0] > 2 || m->hdr[1] || m->hdr[2] || m->hdr[3])
				return errf(err, errlen, "not a multiplexed log stream (header %02x %02x %02x %02x)",
				            m->hdr[0], m->hdr[1], m->hdr[2], m->hdr[3]);
			m->stream = m->hdr[0];
			m->left = (uint32_t)m->hdr[4] << 24 | (uint32_t)m->hdr[5] << 16 |
			          (uint32_t)m->hdr[6] << 8 | m->hdr[7];
			continue;
		}
		size_t take = m->left < n ? m->left : n;
		if (m->stream != 0)
			out(in, take, m->stream, arg);
		m->left -= (uint32_t)take;
		in += take;
		n -= take;
	}
	return 0;
}
