/* master: the state shared by the parts of the master program (services
 * from master.cf, their listeners and children, signals, the lock). */
#ifndef FACTEUR_MASTER_H
#define FACTEUR_MASTER_H

#include <sys/types.h>

#include "argv.h"
#include "mastercf.h"
#include "service.h"

#define MASTER_BACKLOG       1024
#define MASTER_BAD_START_MS  10000   /* a death this soon after fork is a bad start */

typedef struct mservice mservice_t;

/* One master.cf service and everything master keeps for it. */
struct mservice {
    /* From master.cf. */
    char    *name;            /* "smtp", "127.0.0.1:2525", "cleanup" */
    char    *type;            /* inet unix fifo */
    int      private_;
    int      unpriv;
    int      chroot;
    int      wakeup;          /* seconds, 0 = none */
    int      wakeup_on_use;
    int      maxproc;         /* 0 = unlimited */
    char    *command;         /* as in master.cf: "smtpd" */
    char    *path;            /* daemon_directory/command */
    argv_t  *args;            /* master.cf arguments after the command */
    char    *endpoint;        /* for messages and triggers: "private/qmgr", "127.0.0.1:2525", "25" */
    char    *key;             /* type/name/private: what a reload matches on */

    /* Listeners handed to children as fds 6... */
    int      listen_fds[SERVICE_MAX_LISTEN];
    int      listen_count;
    int      listening;       /* master watches the listeners itself */

    /* Pipes shared by all children of the service. */
    int      status_rd;       /* children's {pid, generation, avail} records */
    int      status_wr;       /* handed to children as fd 5 */
    int      alive_rd;        /* handed to children as fd 4 */
    int      alive_wr;        /* never written; closing it retires a generation */

    /* Children. Retired ones count in total_proc until reaped. */
    int      total_proc;
    int      avail_proc;
    int      used;            /* a child was started (for "wakeup N?") */

    /* Crash back-off. */
    int      throttled;
    long     throttle_delay;  /* seconds for the next throttle */
    long long limit_warn_ms;  /* next time the process-limit warning may show */

    int      removed;         /* gone from master.cf; freed with its last child */
    int      seen;            /* reload bookkeeping */
    mservice_t *next;
};

/* Program-wide state. */
typedef struct master_state {
    const char *config_dir;
    int         foreground;      /* -d */
    unsigned    generation;
    int         terminating;
    mservice_t *services;
} master_state_t;

extern master_state_t master;

/* services.c: master.cf into services; reload reconciliation. */
void services_load(void);
void services_reload(void);
/* Frees a removed service once its last child is gone. */
void services_forget(mservice_t *s);

/* listen.c: endpoints. fatal_errors: at start-up every error is fatal;
 * on reload a failing service is skipped with a warning (returns -1). */
int  listen_open(mservice_t *s, int fatal_errors);
void listen_close(mservice_t *s);
/* The name shown in messages, e.g. "private/local" or "127.0.0.1:2525". */
char *listen_endpoint(const master_entry_t *e);

/* spawn.c: children. */
void spawn_service_init(mservice_t *s);       /* pipes, watches, wake-ups, resident start */
void spawn_service_remove(mservice_t *s);     /* stop a removed service: SIGTERM children */
void spawn_retire_generation(mservice_t *s);  /* reload: old children finish and exit */
void spawn_start_resident(mservice_t *s);
void spawn_reap(void);
void spawn_signal_all(int sig);
void spawn_update_listen(mservice_t *s);

/* signals.c: self-pipe into the event loop. */
void signals_init(void);

/* lockfile.c: master.lock and master.pid. */
void lockfile_acquire(void);          /* fatal when another master holds it */
void lockfile_write_pid(void);
void lockfile_remove_pid(void);
int  lockfile_held_by_other(void);    /* master -t: 1 when a master runs */

#endif
