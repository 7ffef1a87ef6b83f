/* reload.c: children come and go with init.conf: SIGHUP keeps what is unchanged. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "init.h"
#include "log.h"

/* Same command line, run as the same user. */
static int same_command(const struct init_prog *a, const struct init_prog *b)
{
	if (a->argc != b->argc || strcmp(a->user, b->user) != 0)
		return 0;
	for (int i = 0; i < a->argc; i++)
		if (strcmp(a->argv[i], b->argv[i]) != 0)
			return 0;
	return 1;
}

/* A retiring child called name that is not down yet. */
static int name_retiring(const struct sup *s, const char *name)
{
	for (size_t i = 0; i < s->nretiring; i++)
		if (s->retiring[i]->state != CS_STOPPED && strcmp(s->retiring[i]->prog.name, name) == 0)
			return 1;
	return 0;
}

void sup_reap_retired(struct sup *s)
{
	size_t w = 0;
	for (size_t i = 0; i < s->nretiring; i++) {
		struct child *c = s->retiring[i];
		if (c->state == CS_STOPPED) {
			log_info("%s: retired", c->prog.name);
			child_free(c);
		} else {
			s->retiring[w++] = c;
		}
	}
	s->nretiring = w;
	for (size_t i = 0; i < s->n; i++) {
		struct child *c = s->kids[i];
		if (c->waiting && !name_retiring(s, c->prog.name)) {
			c->waiting = 0;
			if (!s->stopping)
				child_dispatch(c, EV_TIMER);
		}
	}
}

/* New children for ic: kept ones are taken from s->kids (keep[j] set), the others made
 * (fresh[i] set). Returns the new array, or NULL (nothing changed) when memory ran out. */
static struct child **match(struct sup *s, struct init_conf *ic, char *keep, char *fresh)
{
	struct child **kids = calloc(ic->n ? ic->n : 1, sizeof *kids);
	if (!kids)
		return NULL;
	for (size_t i = 0; i < ic->n; i++) {
		struct init_prog *p = &ic->progs[i];
		for (size_t j = 0; j < s->n && !kids[i]; j++) {
			if (!keep[j] && strcmp(s->kids[j]->prog.name, p->name) == 0 &&
			    same_command(&s->kids[j]->prog, p)) {
				keep[j] = 1;
				kids[i] = s->kids[j];
			}
		}
		if (!kids[i]) {
			if (!(kids[i] = child_new(s, p)))
				goto fail;
			fresh[i] = 1;
		}
	}
	return kids;
fail:
	for (size_t i = 0; i < ic->n; i++)
		if (fresh[i])
			child_free(kids[i]); /* never started */
	free(kids);
	return NULL;
}

static int reserve_retiring(struct sup *s, size_t more)
{
	if (s->nretiring + more <= s->capretiring)
		return 0;
	size_t cap = s->nretiring + more;
	struct child **r = realloc(s->retiring, cap * sizeof *r);
	if (!r)
		return -1;
	s->retiring = r;
	s->capretiring = cap;
	return 0;
}

/* Swap in the new list: stop what went away or changed, start what is new. */
static void commit(struct sup *s, struct child **kids, size_t n, const char *keep,
                   const char *fresh)
{
	size_t kept = 0, retired = 0, started = 0;
	for (size_t j = 0; j < s->n; j++) {
		struct child *c = s->kids[j];
		if (keep[j]) {
			kept++;
			continue;
		}
		c->retiring = 1;
		c->waiting = 0;
		s->retiring[s->nretiring++] = c;
		child_dispatch(c, EV_STOP);
		retired++;
	}
	free(s->kids);
	s->kids = kids;
	s->n = n;
	for (size_t i = 0; i < n; i++) {
		struct child *c = kids[i];
		if (!fresh[i])
			continue;
		started++;
		if (name_retiring(s, c->prog.name))
			c->waiting = 1;
		else
			child_dispatch(c, EV_TIMER);
	}
	log_info("reloaded %s: %zu programs, %zu kept, %zu new, %zu stopping", s->init_path, n, kept,
	         started, retired);
	sup_reap_retired(s);
}

void sup_on_sighup(struct loop *l, int signo, void *arg)
{
	(void)l;
	(void)signo;
	struct sup *s = arg;
	struct init_conf ic;
	char err[768];
	if (s->stopping) {
		log_info("SIGHUP: stopping, not reloading");
		return;
	}
	if (init_conf_load(&ic, s->init_path, err, sizeof err) < 0) {
		log_warnx("SIGHUP: %s; keeping the current programs", err);
		return;
	}
	if (sup_check_users(s, &ic, err, sizeof err) < 0) {
		log_warnx("SIGHUP: %s; keeping the current programs", err);
		init_conf_free(&ic);
		return;
	}
	char *keep = calloc(s->n + 1, 1), *fresh = calloc(ic.n + 1, 1);
	struct child **kids = NULL;
	if (!keep || !fresh || reserve_retiring(s, s->n) < 0 ||
	    !(kids = match(s, &ic, keep, fresh)))
		log_warnx("SIGHUP: out of memory; keeping the current programs");
	else
		commit(s, kids, ic.n, keep, fresh);
	free(keep);
	free(fresh);
	init_conf_free(&ic);
}
