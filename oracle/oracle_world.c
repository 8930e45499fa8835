/*
 * oracle_world.c - the wiring between a world's run and the oracle's
 * configuration (see oracle_world.h). It lives in the oracle, above the
 * engine, so that the engine never names the oracle.
 */
#include "oracle_world.h"

void oracle_config_for_world(const struct world_config *cfg, const struct world_result *res,
			     uint32_t budget, struct oracle_config *oc)
{
	WH_ASSERT(cfg->workload != NULL);
	*oc = (struct oracle_config){
		.target_path = res->db_path,
		.target_vfs = cfg->target == WORLD_TARGET_SIM ? res->vfs_name : NULL,
		/* On the simulated VFS the files are read by the linked SQLite,
		 * a reader independent of the target (the VFS is registered in
		 * it too: world.h). A shared in-memory database exists only
		 * inside the target library, so only it can read that one. */
		.target_api = cfg->target == WORLD_TARGET_SIM ? NULL : cfg->api,
		.invariants = cfg->workload->invariants,
		.invariant_count = cfg->workload->invariant_count,
		.ref_pragmas = cfg->workload->pragmas,
		.ref_pragma_count = cfg->workload->pragma_count,
		.indeterminate_budget = budget,
		.step_budget = cfg->step_budget,
		.durability = oracle_durability_for(cfg->journal_mode, cfg->synchronous),
		.bitflips = res->stats.bitflips > 0,
	};
}
