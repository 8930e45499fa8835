/*
 * nightly_uv.h - <uv.h> for nightly.c, included as "nightly_uv.h".
 *
 * The scheduler's header is engine/sched.h, the name of the system
 * <sched.h> that <uv.h> pulls in through <pthread.h> (for cpu_set_t). The
 * build passes the project's directories with -iquote, so <sched.h> finds
 * the system header and this file is merely a guard: should engine/ ever
 * be put on the -I path again, #include_next <sched.h> here still reaches
 * the system header first (pthread.h's own #include <sched.h> then lands on
 * engine/sched.h, which is harmless).
 *
 * Include it after the project headers: the system <sched.h> defines
 * SCHED_RR as a macro, which must come after engine/sched.h's enum
 * constant of that name.
 */
#ifndef WH_NIGHTLY_UV_H
#define WH_NIGHTLY_UV_H

#include_next <sched.h>
#include <uv.h>

#endif /* WH_NIGHTLY_UV_H */
