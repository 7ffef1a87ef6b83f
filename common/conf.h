/* conf.h: canteen.conf ("key = value", "#" comments) into one struct shared by all programs. */
#ifndef CANTEEN_CONF_H
#define CANTEEN_CONF_H

#include <stddef.h>
#include <stdint.h>

#define CONF_DEFAULT_PATH "/etc/canteen/canteen.conf"
#define CONF_STR_MAX 512
/* rpc_url: a list of endpoints (see conf_rpc_urls). */
#define CONF_RPC_MAX 8                   /* endpoints */
#define CONF_RPC_URLS_MAX 2000           /* bytes of the whole list */

/*
 * Every key of canteen.conf. Durations are in milliseconds, CPU in millicores,
 * memory in bytes. A program uses the keys it needs; a key not in this struct is an
 * error ("FILE:LINE: unknown key 'x'"). Adding a key: add a field, a default in
 * conf_defaults(), a row in the table in conf.c, and a line in man/canteen.conf.5.
 */
struct conf {
	/* general */
	char rundir[CONF_STR_MAX];          /* /run/canteen */
	char log_level[16];                 /* info */
	char node_name[CONF_STR_MAX];       /* defaults to this node's address */
	/* least privilege (see priv.h) */
	char user[64];                      /* owns rundir and the sockets; "" when root runs all */
	/* chain */
	char rpc_url[CONF_RPC_URLS_MAX];    /* one URL, or several split by spaces or commas */
	uint64_t rpc_quorum;                /* 0: a majority of the rpc_url endpoints */
	char contract[64];                  /* 0x... */
	char key_file[CONF_STR_MAX];        /* node's Ethereum key (hex) */
	char chain_state_file[CONF_STR_MAX]; /* chainwatch's saved state; "": RUNDIR/chain.state */
	uint64_t chain_id;                  /* required by the CLI; 0: not set */
	uint64_t confirmations;             /* 2 */
	uint64_t poll_ms;                   /* 1000 */
	uint64_t rpc_timeout_ms;            /* 10000: one call, retries included */
	uint64_t max_fee_gwei;              /* 500: most a transaction pays per gas */
	uint64_t max_priority_fee_gwei;     /* 50: most tip per gas */
	uint64_t allow_insecure_rpc;        /* 0: plain http:// only to loopback */
	/* swim */
	char swim_key_file[CONF_STR_MAX];
	char swim_bind[CONF_STR_MAX];       /* 0.0.0.0:7946 */
	char swim_advertise[CONF_STR_MAX];  /* host:port others reach us at */
	char swim_peers_file[CONF_STR_MAX]; /* chainless admission list */
	uint64_t probe_interval_ms;         /* 1000 */
	uint64_t probe_timeout_ms;          /* 500 */
	uint64_t indirect_checks;           /* 3 */
	uint64_t suspicion_min_mult;        /* 3 */
	uint64_t suspicion_max_mult;        /* 6 (max = min * this factor, memberlist style) */
	uint64_t retransmit_mult;           /* 4 */
	uint64_t pushpull_interval_ms;      /* 30000 */
	uint64_t gossip_interval_ms;        /* 200 */
	uint64_t gossip_nodes;              /* 3 */
	uint64_t awareness_max;             /* 8 (Lifeguard local health cap) */
	/* sched */
	uint64_t debounce_ms;               /* 100 */
	uint64_t membership_settle_ms;      /* 5000 */
	/* dockerd */
	char docker_host[CONF_STR_MAX];     /* unix:///var/run/docker.sock or a path */
	char advertise_addr[CONF_STR_MAX];  /* host IP that published ports bind to */
	uint64_t stop_grace_ms;             /* 10000 */
	/* dockerd: node policy, which no contract overrides (docker_policy.h checks and applies it) */
	char policy_ports[CONF_STR_MAX];    /* "1024-65535": host ports a service may publish */
	char policy_images[1536];           /* "": any image; else patterns, comma-separated */
	uint64_t policy_max_cpu_millis;     /* 0: no cap */
	uint64_t policy_max_mem_mib;        /* 0: no cap */
	uint64_t policy_default_cpu_millis; /* 0: a spec's 0 (no limit) stays, unless capped */
	uint64_t policy_default_mem_mib;    /* 0: likewise */
	uint64_t policy_pids_limit;         /* 4096; 0: no limit */
	char policy_cap_drop[CONF_STR_MAX]; /* "NET_RAW,MKNOD,SYS_CHROOT,AUDIT_WRITE"; "none" */
	char policy_read_only[8];           /* "no"; "yes": read-only root filesystem */
	uint64_t pull_timeout_ms;           /* 600000: a pull taking longer is aborted */
	char image_source[CONF_STR_MAX];    /* peers_first | registry_first | peers_only | registry_only */
	uint64_t image_uploads;             /* 2: image exports served to peers at once */
	uint64_t image_upload_kib_s;        /* 0: no cap; KiB/s of all image exports served together */
};

void conf_defaults(struct conf *c);
/* Parse path into c (on top of what is there). 0, or -1 with "path:line: ..." in err.
 * On error c may be partly updated: callers exit. */
int conf_load(struct conf *c, const char *path, char *err, size_t errlen);
/* Set one key from a string, as if read from a file (for --key=value overrides). */
int conf_set(struct conf *c, const char *key, const char *value, char *err, size_t errlen);
/* Is key known? */
int conf_known(const char *key);

/*
 * The endpoints of an rpc_url list (URLs split by spaces or commas) into urls[0..*n):
 * at most CONF_RPC_MAX, each shorter than CONF_STR_MAX, none twice. 0, or -1 with err
 * (which never shows more of a URL than its position in the list).
 */
int conf_rpc_urls(const char *list, char urls[][CONF_STR_MAX], size_t *n, char *err, size_t errlen);

/* A command-line flag standing for a key of canteen.conf; value NULL when not given. */
struct conf_flag {
	const char *flag, *key, *value;
};

/*
 * A daemon's configuration on top of what c holds (its defaults): path, or
 * CONF_DEFAULT_PATH when path is NULL and that file exists; then the flags given, each
 * set as if it were a line of the file; then the log level it names is applied.
 * 0, or -1 with "path:line: ..." or "--flag: ..." in err.
 */
int conf_setup(struct conf *c, const char *path, const struct conf_flag *flags, size_t nflags,
               char *err, size_t errlen);

#endif
