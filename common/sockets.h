/* sockets.h: the file names of the daemons' Unix sockets in the run directory (rundir). */
#ifndef CANTEEN_SOCKETS_H
#define CANTEEN_SOCKETS_H

#define SOCK_CHAIN "chain.sock"     /* canteen-chainwatch: the contract's state and events */
#define SOCK_SWIM "swim.sock"       /* canteen-swim: membership */
#define SOCK_SCHED "sched.sock"     /* canteen-sched: placement */
#define SOCK_DOCKERD "dockerd.sock" /* canteen-dockerd: the desired set, containers */
#define SOCK_INIT "init.sock"       /* canteen-init: supervised programs */

#endif
