/*
 * nightly_jobfile.c - DIR/job.json, the parameters of a nightly job: what
 * `--resume` needs to continue it and what `nightly merge` needs to tell
 * shards of one job from strangers (base seed, --runs/--time, shard, the
 * workload list, the run flags, the corpus and its snapshot at the start,
 * the shrink budget). Fields added later are optional when read, so a job
 * begun by an older binary can still be resumed or merged.
 *
 * Invariant: job.json is written once, atomically, when a job begins, and
 * never changed; everything that changes as the job goes lives in
 * results.jsonl. The corpus snapshot fixes, for the job's whole life, which
 * signatures count as known and which entries are replayed, even if the
 * corpus directory gains entries (from this job or others) meanwhile.
 */
#include <errno.h>
#include <string.h>

#include "nightly_int.h"

void nl_job_file_free(struct nl_job_file *jf)
{
	nl_strv_free(&jf->workloads);
	nl_strv_free(&jf->user_flags);
	free(jf->corpus);
	for (size_t i = 0; i < jf->snapshot_count; i++) {
		free(jf->snapshot[i].name);
		free(jf->snapshot[i].signature);
	}
	free(jf->snapshot);
	free(jf->known_file);
	nl_strv_free(&jf->target_libs);
	memset(jf, 0, sizeof *jf);
}

int nl_job_file_fill(FILE *f, void *ctx)
{
	const struct nl_job_file *jf = ctx;
	fprintf(f, "{\"format\": 1, \"base_seed\": %llu, \"mode\": \"%s\", \"runs\": %llu, \"time_s\": %.3f",
		(unsigned long long)jf->base_seed, jf->time_mode ? "time" : "runs",
		(unsigned long long)jf->runs, jf->time_s);
	fprintf(f, ", \"shrink_time_s\": %.3f", jf->shrink_time_s);
	if (jf->explore)
		fputs(", \"explore\": true", f);
	fprintf(f, ", \"shard\": [%u, %u], \"workloads\": [", jf->shard_i, jf->shard_n);
	for (size_t i = 0; i < jf->workloads.count; i++) {
		fputs(i ? ", " : "", f);
		json_str(f, jf->workloads.v[i]);
	}
	fputs("], \"run_flags\": [", f);
	for (size_t i = 0; i < jf->user_flags.count; i++) {
		fputs(i ? ", " : "", f);
		json_str(f, jf->user_flags.v[i]);
	}
	fputs("], \"corpus\": ", f);
	if (jf->corpus)
		json_str(f, jf->corpus);
	else
		fputs("null", f);
	fputs(", \"known\": ", f);
	if (jf->known_file)
		json_str(f, jf->known_file);
	else
		fputs("null", f);
	fputs(", \"target_libs\": [", f);
	for (size_t i = 0; i < jf->target_libs.count; i++) {
		fputs(i ? ", " : "", f);
		json_str(f, jf->target_libs.v[i]);
	}
	fputs("], \"corpus_snapshot\": [", f);
	for (size_t i = 0; i < jf->snapshot_count; i++) {
		fputs(i ? ", {\"name\": " : "{\"name\": ", f);
		json_str(f, jf->snapshot[i].name);
		fputs(", \"signature\": ", f);
		json_str(f, jf->snapshot[i].signature);
		fputc('}', f);
	}
	fprintf(f, "], \"created_at\": %.3f}\n", jf->created_at);
	return 0;
}

static int strv_from_json(const struct nl_json *arr, struct nl_strv *out)
{
	if (arr == NULL || arr->type != NL_JSON_ARR)
		return -1;
	for (size_t i = 0; i < arr->count; i++) {
		if (nl_json_str(&arr->items[i]) == NULL)
			return -1;
		nl_strv_push(out, nl_json_str(&arr->items[i]));
	}
	return 0;
}

int nl_job_file_read(const char *dir, struct nl_job_file *jf)
{
	memset(jf, 0, sizeof *jf);
	char path[4096];
	snprintf(path, sizeof path, "%s/job.json", dir);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		if (errno == ENOENT)
			return 1;
		fprintf(stderr, "whopper: nightly: cannot read '%s': %s\n", path, strerror(errno));
		return -1;
	}
	struct nl_buf b = {0};
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len < (16u << 20))
		nl_buf_append(&b, chunk, n);
	fclose(f);
	struct nl_json *j = b.data ? nl_json_parse(b.data, b.len) : NULL;
	nl_buf_free(&b);
	const struct nl_json *shard = nl_json_get(j, "shard");
	const char *mode = nl_json_str(nl_json_get(j, "mode"));
	uint64_t si = 0, sn = 0;
	const struct nl_json *snap = nl_json_get(j, "corpus_snapshot");
	if (j == NULL || mode == NULL || !nl_json_u64(nl_json_get(j, "base_seed"), &jf->base_seed) ||
	    !nl_json_u64(nl_json_get(j, "runs"), &jf->runs) ||
	    !nl_json_num(nl_json_get(j, "time_s"), &jf->time_s) || shard == NULL ||
	    shard->type != NL_JSON_ARR || shard->count != 2 ||
	    !nl_json_u64(&shard->items[0], &si) || !nl_json_u64(&shard->items[1], &sn) ||
	    sn < 1 || si >= sn || sn > NL_SHARDS_MAX ||
	    strv_from_json(nl_json_get(j, "workloads"), &jf->workloads) != 0 ||
	    jf->workloads.count == 0 ||
	    strv_from_json(nl_json_get(j, "run_flags"), &jf->user_flags) != 0 || snap == NULL ||
	    snap->type != NL_JSON_ARR)
		goto out_malformed;
	jf->time_mode = strcmp(mode, "time") == 0;
	if (!nl_json_num(nl_json_get(j, "shrink_time_s"), &jf->shrink_time_s) ||
	    !(jf->shrink_time_s >= 0))
		jf->shrink_time_s = NL_SHRINK_TIME_DEFAULT_S; /* written before the shrinker */
	nl_json_bool(nl_json_get(j, "explore"), &jf->explore); /* absent: false */
	jf->shard_i = (uint32_t)si;
	jf->shard_n = (uint32_t)sn;
	if (nl_json_str(nl_json_get(j, "corpus")))
		jf->corpus = wh_strdup(nl_json_str(nl_json_get(j, "corpus")));
	if (nl_json_str(nl_json_get(j, "known")))
		jf->known_file = wh_strdup(nl_json_str(nl_json_get(j, "known")));
	/* Absent in jobs from before --target-lib: the linked SQLite. */
	if (nl_json_get(j, "target_libs") != NULL &&
	    strv_from_json(nl_json_get(j, "target_libs"), &jf->target_libs) != 0)
		goto out_malformed;
	nl_json_num(nl_json_get(j, "created_at"), &jf->created_at);
	jf->snapshot = wh_calloc(snap->count ? snap->count : 1, sizeof *jf->snapshot);
	for (size_t i = 0; i < snap->count; i++) {
		const char *name = nl_json_str(nl_json_get(&snap->items[i], "name"));
		const char *sig = nl_json_str(nl_json_get(&snap->items[i], "signature"));
		if (name == NULL || sig == NULL)
			goto out_malformed;
		jf->snapshot[i].name = wh_strdup(name);
		jf->snapshot[i].signature = wh_strdup(sig);
		jf->snapshot_count++;
	}
	nl_json_free(j);
	return 0;

out_malformed:
	nl_json_free(j);
	nl_job_file_free(jf);
	fprintf(stderr, "whopper: nightly: '%s' is malformed\n", path);
	return -1;
}
