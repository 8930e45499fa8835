/*
 * oracle_world.h - the oracle wired to a run of the engine: which
 * configuration checks a world's result. Kept apart from oracle.h, which
 * checks any history and needs no world.
 */
#ifndef WH_ORACLE_WORLD_H
#define WH_ORACLE_WORLD_H

#include <stdint.h>

#include "oracle.h"
#include "world.h"

/* The oracle's configuration for checking run res of cfg, as `whopper run`
 * checks it: the target file through its VFS, the workload's invariants
 * and pragmas, the durability promise of the journal mode and
 * synchronous level, bit flips labelled expected. budget: indeterminate
 * transactions explored both ways. Points into cfg and res, which must
 * outlive oc. */
void oracle_config_for_world(const struct world_config *cfg, const struct world_result *res,
			     uint32_t budget, struct oracle_config *oc);

#endif /* WH_ORACLE_WORLD_H */
