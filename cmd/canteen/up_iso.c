/* up_iso.c: canteen up --isolated: each node a host of its own (network namespace, address, dockerd, cgroup). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "errf.h"
#include "loop.h"
#include "up.h"

/*
 * Wiring of slot S (one isolated cluster; S chosen free at up time):
 *   namespace canteenS-lab: bridge br0 at 10.213.(16S).1/24, anvil listens there;
 *   namespace canteenS-nI:  eth0 at 10.213.(16S).(I+1)/24 (veth to br0), lo, and its own
 *                           dockerd (bridge 10.213.(16S+I).1/24, iptables of that namespace);
 *   cgroup canteenS-nI:     the node's canteen-init and dockerd (in host/) and, through
 *                           dockerd's --cgroup-parent, its containers: killing it is the
 *                           server's death.
 * No route leads out of these namespaces: nothing they send reaches another address.
 */

#define NETNS_DIR "/var/run/netns"

void up_iso_netns(unsigned slot, unsigned node, char *out, size_t outlen)
{
	if (node == 0)
		snprintf(out, outlen, "canteen%u-lab", slot);
	else
		snprintf(out, outlen, "canteen%u-n%u", slot, node);
}

void up_iso_ip(unsigned slot, unsigned node, char *out, size_t outlen)
{
	snprintf(out, outlen, "10.213.%u.%u", slot * 16, node + 1);
}

void up_iso_rundir(unsigned slot, unsigned node, char *out, size_t outlen)
{
	if (node == 0)
		snprintf(out, outlen, "/run/canteen%u", slot);
	else
		snprintf(out, outlen, "/run/canteen%u/n%u", slot, node);
}

void up_iso_docker_sock(unsigned slot, unsigned node, char *out, size_t outlen)
{
	snprintf(out, outlen, "/run/canteen%u/n%u/docker.sock", slot, node);
}

/* ---- cgroups: v1's freezer hierarchy, else the unified (v2) one ---- */

static const char *cg_root(void)
{
	if (access("/sys/fs/cgroup/freezer/freezer.state", F_OK) == 0 ||
	    access("/sys/fs/cgroup/freezer/cgroup.procs", F_OK) == 0)
		return "/sys/fs/cgroup/freezer";
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0)
		return "/sys/fs/cgroup";
	return NULL;
}

int up_iso_cgroup_procs(unsigned slot, unsigned node, char *out, size_t outlen)
{
	const char *root = cg_root();
	if (!root)
		return -1;
	char dir[256];
	snprintf(dir, sizeof dir, "%s/canteen%u-n%u", root, slot, node);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	snprintf(dir + strlen(dir), sizeof dir - strlen(dir), "/host");
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	snprintf(out, outlen, "%s/cgroup.procs", dir);
	return 0;
}

static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Pids of one cgroup.procs file: SIGKILL each; how many were listed. */
static unsigned kill_listed(const char *procs)
{
	FILE *f = fopen(procs, "re");
	unsigned n = 0;
	char line[32];
	while (f && fgets(line, sizeof line, f)) {
		char *end;
		long pid = strtol(line, &end, 10);
		if (pid > 1 && (*end == '\n' || *end == '\0')) {
			kill((pid_t)pid, SIGKILL);
			n++;
		}
	}
	if (f)
		fclose(f);
	return n;
}

/* Every process in the cgroup dir and below: SIGKILL; how many were there. */
static unsigned kill_tree(const char *dir, int depth)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/cgroup.procs", dir);
	unsigned n = kill_listed(path);
	DIR *d = depth < 8 ? opendir(dir) : NULL;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		n += kill_tree(path, depth + 1);
	}
	if (d)
		closedir(d);
	return n;
}

static void nap(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

int up_iso_kill_node(unsigned slot, unsigned node)
{
	const char *root = cg_root();
	if (!root)
		return 0;
	char dir[256], path[300];
	snprintf(dir, sizeof dir, "%s/canteen%u-n%u", root, slot, node);
	if (access(dir, F_OK) < 0)
		return 0;
	int v1 = strcmp(root, "/sys/fs/cgroup") != 0;
	if (!v1) {
		snprintf(path, sizeof path, "%s/cgroup.kill", dir);
		write_text(path, "1");
	} else {
		/* Frozen, nothing forks while the list is read and killed. */
		snprintf(path, sizeof path, "%s/freezer.state", dir);
		write_text(path, "FROZEN");
		for (int i = 0; i < 40; i++) {
			char st[32] = "";
			FILE *f = fopen(path, "re");
			if (f && fgets(st, sizeof st, f) && strncmp(st, "FROZEN", 6) == 0) {
				fclose(f);
				break;
			}
			if (f)
				fclose(f);
			nap(50);
		}
	}
	unsigned n = kill_tree(dir, 0);
	if (v1)
		write_text(path, "THAWED");
	uint64_t deadline = mono_ms() + 10000;
	while (n && mono_ms() < deadline) {
		nap(50);
		n = kill_tree(dir, 0);
	}
	return n ? -1 : 0;
}

static int rmdir_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	return 0;
}

/* The node's cgroup directories in every hierarchy (dockerd made its containers' in all). */
static void cgroup_remove(unsigned slot, unsigned node)
{
	DIR *d = opendir("/sys/fs/cgroup");
	struct dirent *e;
	char path[512];
	snprintf(path, sizeof path, "/sys/fs/cgroup/canteen%u-n%u", slot, node);
	nftw(path, rmdir_entry, 16, FTW_DEPTH | FTW_PHYS);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/sys/fs/cgroup/%s/canteen%u-n%u", e->d_name, slot, node);
		nftw(path, rmdir_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
	if (d)
		closedir(d);
}

/* ---- mounts a killed dockerd left behind, and its directories ---- */

static int by_length_desc(const void *a, const void *b)
{
	size_t x = strlen(*(char *const *)a), y = strlen(*(char *const *)b);
	return x < y ? 1 : x > y ? -1 : 0;
}

/* Detach every mount below dir (deepest first): overlays, namespace files. */
static void unmount_below(const char *dir)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096], *list[512];
	size_t n = 0, dl = strlen(dir);
	while (f && n < sizeof list / sizeof list[0] && fgets(line, sizeof line, f)) {
		char *p = line;
		for (int field = 0; field < 4 && p; field++)
			p = strchr(p + 1, ' ');
		if (!p)
			continue;
		char *mp = p + 1, *end = strchr(mp, ' ');
		if (!end)
			continue;
		*end = '\0';
		if (strncmp(mp, dir, dl) == 0 && (mp[dl] == '/' || mp[dl] == '\0'))
			list[n++] = strdup(mp);
	}
	if (f)
		fclose(f);
	qsort(list, n, sizeof list[0], by_length_desc);
	for (size_t i = 0; i < n; i++) {
		if (list[i])
			umount2(list[i], MNT_DETACH);
		free(list[i]);
	}
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* Remove dir and everything in it, never crossing into another file system. */
static void remove_tree(const char *dir)
{
	unmount_below(dir);
	nftw(dir, rm_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/* ---- namespaces ---- */

static int ip(char *const argv[], char *err, size_t errlen)
{
	char *full[16] = {"ip"};
	size_t i = 0;
	for (; argv[i] && i + 2 < sizeof full / sizeof full[0]; i++)
		full[i + 1] = argv[i];
	full[i + 1] = NULL;
	if (up_run(full, NULL, 0) == 0)
		return 0;
	char cmd[256] = "ip";
	for (size_t k = 0; argv[k]; k++)
		snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " %s", argv[k]);
	return errf(err, errlen, "%s failed", cmd);
}

int up_iso_claim(unsigned *slot, char *err, size_t errlen)
{
	for (unsigned s = 0; s < UP_ISO_SLOTS; s++) {
		char name[64], path[128];
		up_iso_netns(s, 0, name, sizeof name);
		snprintf(path, sizeof path, NETNS_DIR "/%s", name);
		if (access(path, F_OK) == 0)
			continue;
		/* ip netns add fails when the name exists: two ups never share a slot. */
		char *add[] = {"netns", "add", name, NULL};
		if (ip(add, NULL, 0) == 0) {
			*slot = s;
			return 0;
		}
	}
	return errf(err, errlen, "all %d isolated cluster slots are taken (namespaces canteenN-lab "
	            "in " NETNS_DIR "): canteen down the others", UP_ISO_SLOTS);
}

int up_iso_wire(unsigned slot, unsigned nodes, char *err, size_t errlen)
{
	char lab[64], cidr[80], ns[64], veth[16], addr[64];
	up_iso_netns(slot, 0, lab, sizeof lab);
	up_iso_ip(slot, 0, addr, sizeof addr);
	snprintf(cidr, sizeof cidr, "%s/24", addr);
	char *lo[] = {"-n", lab, "link", "set", "lo", "up", NULL};
	char *br[] = {"-n", lab, "link", "add", "br0", "type", "bridge", NULL};
	char *bra[] = {"-n", lab, "addr", "add", cidr, "dev", "br0", NULL};
	char *brup[] = {"-n", lab, "link", "set", "br0", "up", NULL};
	if (ip(lo, err, errlen) < 0 || ip(br, err, errlen) < 0 || ip(bra, err, errlen) < 0 ||
	    ip(brup, err, errlen) < 0)
		return -1;
	for (unsigned i = 1; i <= nodes; i++) {
		up_iso_netns(slot, i, ns, sizeof ns);
		up_iso_ip(slot, i, addr, sizeof addr);
		snprintf(cidr, sizeof cidr, "%s/24", addr);
		snprintf(veth, sizeof veth, "v%u", i);
		char *add[] = {"netns", "add", ns, NULL};
		char *nlo[] = {"-n", ns, "link", "set", "lo", "up", NULL};
		char *pair[] = {"-n", lab, "link", "add", veth, "type", "veth", "peer", "name", "eth0",
		                "netns", ns, NULL};
		char *port[] = {"-n", lab, "link", "set", veth, "master", "br0", "up", NULL};
		char *a[] = {"-n", ns, "addr", "add", cidr, "dev", "eth0", NULL};
		char *up[] = {"-n", ns, "link", "set", "eth0", "up", NULL};
		if (ip(add, err, errlen) < 0 || ip(nlo, err, errlen) < 0 || ip(pair, err, errlen) < 0 ||
		    ip(port, err, errlen) < 0 || ip(a, err, errlen) < 0 || ip(up, err, errlen) < 0)
			return -1;
	}
	return 0;
}

int up_iso_enter(unsigned slot, unsigned node, char *err, size_t errlen)
{
	char name[64], path[128];
	up_iso_netns(slot, node, name, sizeof name);
	snprintf(path, sizeof path, NETNS_DIR "/%s", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errf(err, errlen, "cannot open %s: %s", path, strerror(errno));
	int rc = setns(fd, CLONE_NEWNET);
	int e = errno;
	close(fd);
	if (rc < 0)
		return errf(err, errlen, "cannot enter %s: %s", path, strerror(e));
	return 0;
}

int up_iso_dockerd_argv(unsigned slot, unsigned node, const char *dir, char buf[][256],
                        char *argv[], size_t max)
{
	char run[128], sock[160];
	up_iso_rundir(slot, node, run, sizeof run);
	up_iso_docker_sock(slot, node, sock, sizeof sock);
	const char *fmt[][2] = {
		{"dockerd", NULL},
		{"--config-file", NULL}, {"%s/node%u/daemon.json", "dir"},
		{"--host", NULL}, {"unix://%s", "sock"},
		{"--data-root", NULL}, {"%s/node%u/docker", "dir"},
		{"--exec-root", NULL}, {"%s/exec", "run"},
		{"--pidfile", NULL}, {"%s/docker.pid", "run"},
		{"--bip", NULL}, {"10.213.%u.1/24", "bip"},
		{"--cgroup-parent", NULL}, {"/canteen%u-n%u", "cg"},
		{"--shutdown-timeout", NULL}, {"2", NULL},
	};
	size_t n = sizeof fmt / sizeof fmt[0];
	if (n + 1 > max)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *f = fmt[i][0], *k = fmt[i][1];
		if (!k)
			snprintf(buf[i], 256, "%s", f);
		else if (strcmp(k, "dir") == 0)
			snprintf(buf[i], 256, f, dir, node);
		else if (strcmp(k, "sock") == 0)
			snprintf(buf[i], 256, f, sock);
		else if (strcmp(k, "run") == 0)
			snprintf(buf[i], 256, f, run);
		else if (strcmp(k, "bip") == 0)
			snprintf(buf[i], 256, f, slot * 16 + node);
		else
			snprintf(buf[i], 256, f, slot, node);
		argv[i] = buf[i];
	}
	argv[n] = NULL;
	return 0;
}

int up_iso_dockerd_prepare(unsigned slot, unsigned node, const char *dir)
{
	char path[700], slotdir[128], run[128];
	snprintf(path, sizeof path, "%s/node%u/daemon.json", dir, node);
	/* An empty configuration: the host's daemon.json is not this host's. */
	if (up_write_file(path, "{}\n", 0600) < 0)
		return -1;
	up_iso_rundir(slot, 0, slotdir, sizeof slotdir);
	up_iso_rundir(slot, node, run, sizeof run);
	if ((mkdir(slotdir, 0700) < 0 && errno != EEXIST) || (mkdir(run, 0700) < 0 && errno != EEXIST))
		return -1;
	return 0;
}

void up_iso_remove_node(unsigned slot, unsigned node, const char *dir)
{
	char path[700], ns[64];
	up_iso_kill_node(slot, node);
	up_iso_rundir(slot, node, path, sizeof path);
	remove_tree(path);
	snprintf(path, sizeof path, "%s/node%u/docker", dir, node);
	remove_tree(path);
	cgroup_remove(slot, node);
	up_iso_netns(slot, node, ns, sizeof ns);
	snprintf(path, sizeof path, NETNS_DIR "/%s", ns);
	if (access(path, F_OK) == 0) {
		char *del[] = {"netns", "del", ns, NULL};
		ip(del, NULL, 0);
	}
}

void up_iso_remove_lab(unsigned slot)
{
	char path[128], ns[64];
	up_iso_rundir(slot, 0, path, sizeof path);
	remove_tree(path);
	up_iso_netns(slot, 0, ns, sizeof ns);
	snprintf(path, sizeof path, NETNS_DIR "/%s", ns);
	if (access(path, F_OK) == 0) {
		char *del[] = {"netns", "del", ns, NULL};
		ip(del, NULL, 0);
	}
}
