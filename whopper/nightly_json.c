/*
 * nightly_json.c - a small strict JSON reader for `whopper nightly`: the
 * children's `run --json` objects, results.jsonl lines and job.json.
 *
 * Recursive descent over a length-delimited buffer into a small tree
 * (struct nl_json). Strict where it matters for untrusted input: nesting is
 * bounded (NL_JSON_DEPTH_MAX) so a hostile or broken child cannot exhaust
 * the stack; a NUL byte, a control character inside a string, a lone
 * surrogate or trailing garbage is a syntax error; nothing is read past len.
 * Strings are decoded to UTF-8. Numbers keep their literal text so a 64-bit
 * seed is never rounded through a double.
 */
#include <errno.h>
#include <string.h>

#include "nightly_int.h"

#define NL_JSON_DEPTH_MAX 64

struct parser {
	const char *p;   /* next byte */
	const char *end; /* one past the last byte */
	int depth;       /* current nesting */
};

static int parse_value(struct parser *ps, struct nl_json *out);

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static bool eat(struct parser *ps, char c)
{
	if (ps->p < ps->end && *ps->p == c) {
		ps->p++;
		return true;
	}
	return false;
}

static bool eat_word(struct parser *ps, const char *w)
{
	size_t n = strlen(w);
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n) != 0)
		return false;
	ps->p += n;
	return true;
}

static int hex4(struct parser *ps, uint32_t *out)
{
	if (ps->end - ps->p < 4)
		return -1;
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		char c = ps->p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	ps->p += 4;
	*out = v;
	return 0;
}

static void put_utf8(struct nl_buf *b, uint32_t cp)
{
	unsigned char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | (cp >> 6));
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | (cp >> 12));
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | (cp >> 18));
		u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	nl_buf_append(b, u, n);
}

/* A string literal (the opening quote is next). *out is a new string. */
static int parse_string(struct parser *ps, char **out)
{
	if (!eat(ps, '"'))
		return -1;
	struct nl_buf b = {0};
	nl_buf_append(&b, "", 0); /* an empty string is still a string */
	while (ps->p < ps->end) {
		unsigned char c = (unsigned char)*ps->p++;
		if (c == '"') {
			*out = b.data;
			return 0;
		}
		if (c < 0x20)
			break; /* raw control characters (and NUL) are not JSON */
		if (c != '\\') {
			nl_buf_append(&b, &c, 1);
			continue;
		}
		if (ps->p >= ps->end)
			break;
		char e = *ps->p++;
		const char *simple = strchr("\"\\/bfnrt", e);
		if (e != '\0' && simple) {
			static const char decoded[] = "\"\\/\b\f\n\r\t";
			nl_buf_append(&b, &decoded[simple - "\"\\/bfnrt"], 1);
			continue;
		}
		if (e != 'u')
			break;
		uint32_t cp;
		if (hex4(ps, &cp) != 0)
			break;
		if (cp >= 0xdc00 && cp <= 0xdfff)
			break; /* a low surrogate alone */
		if (cp >= 0xd800 && cp <= 0xdbff) {
			uint32_t lo;
			if (!eat(ps, '\\') || !eat(ps, 'u') || hex4(ps, &lo) != 0 || lo < 0xdc00 ||
			    lo > 0xdfff)
				break;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		}
		if (cp == 0)
			break; /* would truncate the C string */
		put_utf8(&b, cp);
	}
	nl_buf_free(&b);
	return -1;
}

static int parse_number(struct parser *ps, struct nl_json *out)
{
	const char *start = ps->p;
	eat(ps, '-');
	if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
		return -1;
	if (*ps->p == '0')
		ps->p++;
	else
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	if (eat(ps, '.')) {
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
			return -1;
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		ps->p++;
		if (!eat(ps, '+'))
			eat(ps, '-');
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
			return -1;
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	size_t n = (size_t)(ps->p - start);
	out->type = NL_JSON_NUM;
	out->text = wh_malloc(n + 1);
	memcpy(out->text, start, n);
	out->text[n] = '\0';
	return 0;
}

static void push_item(struct nl_json *parent, size_t *cap, struct nl_json *item, char *key)
{
	if (parent->count == *cap) {
		*cap = *cap ? *cap * 2 : 4;
		parent->items = wh_realloc(parent->items, *cap * sizeof *parent->items);
		if (parent->type == NL_JSON_OBJ)
			parent->keys = wh_realloc(parent->keys, *cap * sizeof *parent->keys);
	}
	parent->items[parent->count] = *item;
	if (parent->type == NL_JSON_OBJ)
		parent->keys[parent->count] = key;
	parent->count++;
}

static void json_clear(struct nl_json *v);

static int parse_container(struct parser *ps, struct nl_json *out, bool is_obj)
{
	if (++ps->depth > NL_JSON_DEPTH_MAX)
		return -1;
	out->type = is_obj ? NL_JSON_OBJ : NL_JSON_ARR;
	size_t cap = 0;
	skip_ws(ps);
	if (eat(ps, is_obj ? '}' : ']')) {
		ps->depth--;
		return 0;
	}
	for (;;) {
		char *key = NULL;
		skip_ws(ps);
		if (is_obj) {
			if (parse_string(ps, &key) != 0)
				return -1;
			skip_ws(ps);
			if (!eat(ps, ':')) {
				free(key);
				return -1;
			}
		}
		struct nl_json item;
		memset(&item, 0, sizeof item);
		if (parse_value(ps, &item) != 0) {
			json_clear(&item);
			free(key);
			return -1;
		}
		push_item(out, &cap, &item, key);
		skip_ws(ps);
		if (eat(ps, ','))
			continue;
		if (eat(ps, is_obj ? '}' : ']'))
			break;
		return -1;
	}
	ps->depth--;
	return 0;
}

/* On failure *out may hold a partial tree; the caller clears it. */
static int parse_value(struct parser *ps, struct nl_json *out)
{
	skip_ws(ps);
	if (ps->p >= ps->end)
		return -1;
	switch (*ps->p) {
	case '{':
		ps->p++;
		return parse_container(ps, out, true);
	case '[':
		ps->p++;
		return parse_container(ps, out, false);
	case '"':
		out->type = NL_JSON_STR;
		return parse_string(ps, &out->text);
	case 't':
		out->type = NL_JSON_BOOL;
		out->boolean = true;
		return eat_word(ps, "true") ? 0 : -1;
	case 'f':
		out->type = NL_JSON_BOOL;
		return eat_word(ps, "false") ? 0 : -1;
	case 'n':
		out->type = NL_JSON_NULL;
		return eat_word(ps, "null") ? 0 : -1;
	default:
		return parse_number(ps, out);
	}
}

static void json_clear(struct nl_json *v)
{
	for (size_t i = 0; i < v->count; i++) {
		json_clear(&v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->text);
	memset(v, 0, sizeof *v);
}

struct nl_json *nl_json_parse(const char *text, size_t len)
{
	struct parser ps = {.p = text, .end = text + len, .depth = 0};
	struct nl_json *v = wh_calloc(1, sizeof *v);
	if (parse_value(&ps, v) == 0) {
		skip_ws(&ps);
		if (ps.p == ps.end)
			return v;
	}
	json_clear(v);
	free(v);
	return NULL;
}

void nl_json_free(struct nl_json *v)
{
	if (v == NULL)
		return;
	json_clear(v);
	free(v);
}

const struct nl_json *nl_json_get(const struct nl_json *obj, const char *key)
{
	if (obj == NULL || obj->type != NL_JSON_OBJ)
		return NULL;
	for (size_t i = 0; i < obj->count; i++)
		if (strcmp(obj->keys[i], key) == 0)
			return &obj->items[i];
	return NULL;
}

const char *nl_json_str(const struct nl_json *v)
{
	return v && v->type == NL_JSON_STR ? v->text : NULL;
}

bool nl_json_u64(const struct nl_json *v, uint64_t *out)
{
	if (v == NULL || v->type != NL_JSON_NUM || v->text[0] == '-')
		return false;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(v->text, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = x;
	return true;
}

bool nl_json_i64(const struct nl_json *v, int64_t *out)
{
	if (v == NULL || v->type != NL_JSON_NUM)
		return false;
	char *end;
	errno = 0;
	long long x = strtoll(v->text, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = x;
	return true;
}

bool nl_json_num(const struct nl_json *v, double *out)
{
	if (v == NULL || v->type != NL_JSON_NUM)
		return false;
	*out = strtod(v->text, NULL);
	return true;
}

bool nl_json_bool(const struct nl_json *v, bool *out)
{
	if (v == NULL || v->type != NL_JSON_BOOL)
		return false;
	*out = v->boolean;
	return true;
}
