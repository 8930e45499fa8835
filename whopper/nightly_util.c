/*
 * nightly_util.c - plumbing for `whopper nightly`: growable buffers and
 * string vectors, a string map, a bit set, clocks, files (atomic writes and
 * copies, whole-file reads, emptying a scratch directory) and the encoding
 * of untrusted text and bytes for XML/HTML (escaping, base64) and shells.
 *
 * Invariants: an nl_buf's data is NUL-terminated whenever it is non-NULL;
 * an nl_map's capacity is a power of two and stays at most half full, so
 * probing always ends at an empty slot; nl_write_atomic and nl_copy_atomic
 * never leave the target half-written (rename(2) within one directory is
 * atomic).
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nightly_int.h"

/* ---------------------------------------------------------------------
 * Buffers and string vectors
 * ------------------------------------------------------------------- */

static void buf_reserve(struct nl_buf *b, size_t extra)
{
	WH_ASSERT(b->len + extra + 1 > b->len); /* no overflow */
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + extra + 1)
		cap *= 2;
	b->data = wh_realloc(b->data, cap);
	b->cap = cap;
}

void nl_buf_append(struct nl_buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	WH_ASSERT(b->len < b->cap);
}

void nl_buf_puts(struct nl_buf *b, const char *s)
{
	nl_buf_append(b, s, strlen(s));
}

void nl_buf_printf(struct nl_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	WH_ASSERT(n >= 0);
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	int m = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	WH_ASSERT_EQ(m, n);
	b->len += (size_t)n;
}

void nl_buf_free(struct nl_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof *b);
}

void nl_strv_push(struct nl_strv *s, const char *str)
{
	if (s->count == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->v = wh_realloc(s->v, s->cap * sizeof *s->v);
	}
	s->v[s->count++] = wh_strdup(str);
	WH_ASSERT(s->count <= s->cap);
}

void nl_strv_copy(struct nl_strv *dst, const struct nl_strv *src)
{
	WH_ASSERT(dst != src);
	memset(dst, 0, sizeof *dst);
	for (size_t i = 0; i < src->count; i++)
		nl_strv_push(dst, src->v[i]);
}

bool nl_strv_equal(const struct nl_strv *a, const struct nl_strv *b)
{
	if (a->count != b->count)
		return false;
	for (size_t i = 0; i < a->count; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

void nl_strv_free(struct nl_strv *s)
{
	for (size_t i = 0; i < s->count; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof *s);
}

/* ---------------------------------------------------------------------
 * String map and bit set
 * ------------------------------------------------------------------- */

uint64_t nl_fnv1a(const char *s)
{
	return wh_fnv1a_str(WH_FNV1A_BASIS, s);
}

/* Slot holding key, or the empty slot where it would go. */
static size_t map_slot(const struct nl_map *m, const char *key)
{
	WH_ASSERT(m->cap > 0 && (m->cap & (m->cap - 1)) == 0);
	size_t mask = m->cap - 1;
	size_t i = (size_t)nl_fnv1a(key) & mask;
	for (size_t probes = 0; probes < m->cap; probes++) {
		if (m->keys[i] == NULL || strcmp(m->keys[i], key) == 0)
			return i;
		i = (i + 1) & mask;
	}
	WH_UNREACHABLE(); /* the map is never more than half full */
}

bool nl_map_get(const struct nl_map *m, const char *key, uint32_t *value)
{
	if (m->cap == 0)
		return false;
	size_t i = map_slot(m, key);
	if (m->keys[i] == NULL)
		return false;
	*value = m->values[i];
	return true;
}

static void map_grow(struct nl_map *m)
{
	struct nl_map old = *m;
	m->cap = old.cap ? old.cap * 2 : 16;
	m->keys = wh_calloc(m->cap, sizeof *m->keys);
	m->values = wh_calloc(m->cap, sizeof *m->values);
	m->count = 0;
	for (size_t i = 0; i < old.cap; i++) {
		if (old.keys[i] == NULL)
			continue;
		size_t j = map_slot(m, old.keys[i]);
		m->keys[j] = old.keys[i]; /* ownership moves */
		m->values[j] = old.values[i];
		m->count++;
	}
	WH_ASSERT_EQ(m->count, old.count);
	free(old.keys);
	free(old.values);
}

void nl_map_put(struct nl_map *m, const char *key, uint32_t value)
{
	if ((m->count + 1) * 2 > m->cap)
		map_grow(m);
	size_t i = map_slot(m, key);
	WH_ASSERT(m->keys[i] == NULL); /* callers insert absent keys only */
	m->keys[i] = wh_strdup(key);
	m->values[i] = value;
	m->count++;
}

void nl_map_free(struct nl_map *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->values);
	memset(m, 0, sizeof *m);
}

bool nl_bitset_test(const struct nl_bitset *b, uint64_t i)
{
	uint64_t w = i / 64;
	if (w >= b->word_count)
		return false;
	return (b->words[w] >> (i % 64)) & 1u;
}

void *nl_grow_zeroed(void *p, size_t *len, uint64_t i, size_t elem, size_t first)
{
	WH_ASSERT(i < SIZE_MAX / 16 / elem);
	if (i < *len)
		return p;
	size_t n = *len ? *len : first;
	while (n <= i)
		n *= 2;
	unsigned char *q = wh_realloc(p, n * elem);
	memset(q + *len * elem, 0, (n - *len) * elem);
	*len = n;
	return q;
}

void nl_bitset_set(struct nl_bitset *b, uint64_t i)
{
	uint64_t w = i / 64;
	b->words = nl_grow_zeroed(b->words, &b->word_count, w, sizeof *b->words, 16);
	b->words[w] |= 1ULL << (i % 64);
	WH_ASSERT(nl_bitset_test(b, i));
}

void nl_bitset_free(struct nl_bitset *b)
{
	free(b->words);
	memset(b, 0, sizeof *b);
}

/* ---------------------------------------------------------------------
 * Clocks and files
 * ------------------------------------------------------------------- */

double nl_wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double nl_mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void nl_iso8601(double epoch_s, char out[32])
{
	time_t t = (time_t)epoch_s;
	struct tm tm;
	if (epoch_s <= 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		strcpy(out, "unknown");
}

int nl_mkdir_p(const char *dir)
{
	char path[4096];
	size_t n = strlen(dir);
	if (n == 0 || n >= sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(path, dir, n + 1);
	/* Create each prefix ending before a '/', then the whole path. */
	for (size_t i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		char saved = path[i];
		path[i] = '\0';
		if (mkdir(path, 0777) != 0 && errno != EEXIST)
			return -1;
		path[i] = saved;
	}
	struct stat st;
	if (stat(dir, &st) != 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

int nl_write_atomic(const char *dir, const char *name, int (*fill)(FILE *f, void *ctx),
		    void *ctx)
{
	char tmp[4096], dst[4096];
	if (snprintf(dst, sizeof dst, "%s/%s", dir, name) >= (int)sizeof dst ||
	    snprintf(tmp, sizeof tmp, "%s/.%s.tmp%d", dir, name, (int)getpid()) >=
		    (int)sizeof tmp) {
		fprintf(stderr, "whopper: nightly: path too long: %s/%s\n", dir, name);
		return -1;
	}
	FILE *f = fopen(tmp, "w");
	if (f == NULL) {
		fprintf(stderr, "whopper: nightly: cannot write '%s': %s\n", dst, strerror(errno));
		return -1;
	}
	int rc = fill(f, ctx);
	int saved = errno;
	if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0) {
		saved = errno;
		rc = -1;
	}
	if (fclose(f) != 0 && rc == 0) {
		saved = errno;
		rc = -1;
	}
	if (rc == 0 && rename(tmp, dst) != 0) {
		saved = errno;
		rc = -1;
	}
	if (rc != 0) {
		unlink(tmp);
		fprintf(stderr, "whopper: nightly: cannot write '%s': %s\n", dst, strerror(saved));
	}
	return rc;
}

/* Streams the source file into nl_write_atomic's temporary file. */
static int fill_copy(FILE *f, void *ctx)
{
	FILE *src = ctx;
	char chunk[64 << 10];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, src)) > 0)
		if (fwrite(chunk, 1, n, f) != n)
			return -1;
	return ferror(src) ? -1 : 0;
}

int nl_copy_atomic(const char *src, const char *dir, const char *name)
{
	FILE *in = fopen(src, "r");
	if (in == NULL) {
		fprintf(stderr, "whopper: nightly: cannot read '%s': %s\n", src, strerror(errno));
		return -1;
	}
	int rc = nl_write_atomic(dir, name, fill_copy, in);
	fclose(in);
	return rc;
}

char *nl_read_file(const char *path, size_t max_bytes, size_t *len_out)
{
	*len_out = 0;
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	struct stat st;
	int refused = 0;
	if (fstat(fileno(f), &st) != 0)
		refused = errno;
	else if (!S_ISREG(st.st_mode))
		refused = EINVAL;
	else if ((uint64_t)st.st_size > max_bytes)
		refused = EFBIG;
	if (refused) {
		fclose(f);
		errno = refused;
		return NULL;
	}
	/* Read to EOF rather than trusting st_size: the file may still grow,
	 * and nothing past max_bytes is kept. */
	struct nl_buf b = {0};
	nl_buf_append(&b, "", 0);
	char chunk[64 << 10];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= max_bytes)
		nl_buf_append(&b, chunk, n);
	bool failed = ferror(f) || b.len > max_bytes;
	int saved = ferror(f) ? EIO : EFBIG;
	fclose(f);
	if (failed) {
		nl_buf_free(&b);
		errno = saved;
		return NULL;
	}
	WH_ASSERT(b.data != NULL && b.data[b.len] == '\0');
	*len_out = b.len;
	return b.data;
}

bool nl_file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

void nl_sibling_path(const char *whop_path, const char *suffix, struct nl_buf *out)
{
	size_t n = strlen(whop_path);
	if (n > 5 && strcmp(whop_path + n - 5, ".whop") == 0)
		n -= 5;
	nl_buf_append(out, whop_path, n);
	nl_buf_puts(out, suffix);
}

int nl_remove_flat_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	int rc = 0, saved = 0;
	struct dirent *de;
	/* Bounded by the directory's entries: each is unlinked once. */
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char path[4096];
		int failed_errno = 0;
		if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path)
			failed_errno = ENAMETOOLONG;
		else if (unlink(path) != 0 && errno != ENOENT)
			failed_errno = errno;
		if (failed_errno && rc == 0) {
			saved = failed_errno;
			rc = -1;
		}
	}
	closedir(d);
	if (rc == 0 && rmdir(dir) != 0 && errno != ENOENT) {
		saved = errno;
		rc = -1;
	}
	errno = saved;
	return rc;
}

void nl_base64(FILE *f, const unsigned char *p, size_t n)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	_Static_assert(sizeof alphabet == 65, "base64 needs 64 symbols");
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		fputc(alphabet[v >> 18], f);
		fputc(alphabet[(v >> 12) & 63], f);
		fputc(alphabet[(v >> 6) & 63], f);
		fputc(alphabet[v & 63], f);
	}
	size_t rest = n - i;
	WH_ASSERT(rest < 3);
	if (rest == 0)
		return;
	uint32_t v = (uint32_t)p[i] << 16 | (rest == 2 ? (uint32_t)p[i + 1] << 8 : 0);
	fputc(alphabet[v >> 18], f);
	fputc(alphabet[(v >> 12) & 63], f);
	fputc(rest == 2 ? alphabet[(v >> 6) & 63] : '=', f);
	fputc('=', f);
}

/* ---------------------------------------------------------------------
 * Escaping
 * ------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid. */
static size_t utf8_len(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	size_t n;
	uint32_t cp;
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0; /* also stops at the NUL */
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
	if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
	    cp == 0xfffe || cp == 0xffff)
		return 0; /* overlong, surrogate or not an XML character */
	return n;
}

void nl_xml_text(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	while (*p) {
		switch (*p) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		case '\t':
		case '\n':
		case '\r':
			fputc(*p, f);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				fputc('?', f);
				break;
			}
			size_t n = utf8_len(p);
			if (n == 0) {
				fputc('?', f);
				break;
			}
			fwrite(p, 1, n, f);
			p += n;
			continue;
		}
		p++;
	}
}

void nl_shell_arg(FILE *f, const char *s)
{
	bool bare = *s != '\0';
	for (const char *p = s; *p && bare; p++)
		bare = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			      "0123456789-_=./,:+%@", *p) != NULL;
	if (bare) {
		fputs(s, f);
		return;
	}
	fputc('\'', f);
	for (const char *p = s; *p; p++) {
		if (*p == '\'')
			fputs("'\\''", f);
		else
			fputc(*p, f);
	}
	fputc('\'', f);
}

char *nl_strndup_utf8(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n <= max)
		return wh_strdup(s);
	size_t cut = max;
	while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
		cut--; /* do not split a multi-byte character */
	char *out = wh_malloc(cut + 4);
	memcpy(out, s, cut);
	memcpy(out + cut, "...", 4);
	return out;
}
