/*
 * oracle_world.c - the wiring between a world's run and the oracle's
 * configuration (see oracle_world.h). It lives in the oracle, above the
 * engine, so that the engine never names the oracle.
 */
#include "oracle_world.h"

/* The oracle's open of the target runs the pragmas every connection ran
 * first (an encrypting SQLite's key). */
static int target_prepare(void *ctx, const struct wh_sqlapi *api, sqlite3 *db)
{
	return world_open_pragmas(ctx, api, db);
}

void oracle_config_for_world(const struct world_config *cfg, const struct world_result *res,
			     uint32_t budget, struct oracle_config *oc)
{
	WH_ASSERT(cfg->workload != NULL);
	*oc = (struct oracle_config){
		.target_path = res->db_path,
		/* Real files (the threads target) are read with the default
		 * VFS, not through the run's shim. */
		.target_vfs = cfg->target == WORLD_TARGET_SIM ? res->vfs_name : NULL,
		/* On the simulated VFS the files are read by the linked SQLite,
		 * a reader independent of the target (the VFS is registered in
		 * it too: world.h). A shared in-memory database exists only
		 * inside the target library, and an encrypted one (a key among
		 * the pragmas that open) only the target can decrypt: those
		 * are read through the target, its key given first. */
		.target_api = cfg->target != WORLD_TARGET_MEMORY_SHARED &&
					      !world_has_open_pragmas(cfg)
				      ? NULL
				      : cfg->api,
		.target_prepare = world_has_open_pragmas(cfg) ? target_prepare : NULL,
		.target_prepare_ctx = (void *)cfg,
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
