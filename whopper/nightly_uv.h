/*
 * nightly_uv.h - <uv.h> for nightly.c, included as <nightly_uv.h>.
 *
 * The build puts engine/ on the include path (-Iengine), where the
 * scheduler's engine/sched.h shadows the system <sched.h> that <uv.h> pulls
 * in through <pthread.h> (which needs its cpu_set_t). This header is found
 * through -Iwhopper, the last -I directory, so #include_next reaches the
 * system <sched.h> first; pthread.h's own #include <sched.h> then lands on
 * engine/sched.h, which is harmless. Include it after the project headers:
 * the system <sched.h> defines SCHED_RR as a macro, which must come after
 * engine/sched.h's enum constant of that name. Once the build passes project
 * directories with -iquote instead of -I, this header is merely redundant.
 */
#ifndef WH_NIGHTLY_UV_H
#define WH_NIGHTLY_UV_H

#include_next <sched.h>
#include <uv.h>

#endif /* WH_NIGHTLY_UV_H */
