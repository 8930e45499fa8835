/*
 * shrink_svg.c - MIN.svg, the swimlane picture `whopper shrink` writes:
 * one lane per connection, simulated time downward, each statement a box
 * labelled with its template, BEGIN/COMMIT/ROLLBACK boxes, a bar per
 * transaction, commits and aborts marked, the violating read highlighted
 * and every VFS operation a tick on its connection's lane; an orange bar
 * at a lane's left edge marks where the connection was parked inside a
 * VFS call while others finished statements (the race to look at).
 *
 * Source: the --trace text of the verifying replay (one line per event,
 * "t=<us> conn=<id> op=<name> ..." for VFS operations and "t=<us>
 * conn=<id> <what> rc=<rc> sql=... txn=<id>" for the driver's steps), matched to
 * the history: per connection, the k-th "stmt" line is the connection's
 * k-th statement, and transactions follow one another in id order.
 *
 * The vertical axis is ordinal: every trace line takes a slot (statements
 * a tall one, VFS ticks a thin one) in trace order, which is time order,
 * and the simulated time is written beside each statement. A linear time
 * axis would squeeze the statements of a run into a few pixels between
 * its millisecond stalls. A statement's box reaches up to its first VFS
 * operation, so boxes of different lanes overlap exactly where the
 * statements ran concurrently.
 *
 * Output is standalone SVG 1.1 (xmlns, every text escaped, non-ASCII and
 * control bytes replaced) and a pure function of the view.
 */
#include <inttypes.h>
#include <string.h>

#include <sqlite3.h>

#include "shrink_int.h"

#define SVG_AXIS_W 96     /* left column: simulated times */
#define SVG_LANE_W 300
#define SVG_IDLE_W 110   /* a connection that ran no transaction */
#define SVG_LANE_GAP 12
#define SVG_TOP 92        /* title and lane headers */
#define SVG_BOX_H 24      /* a statement box without VFS operations */
#define SVG_LINE_MAX 40   /* characters of SQL shown in a box */

enum tl_kind {
	TL_OTHER,     /* ignored */
	TL_OP,        /* a VFS operation */
	TL_OPEN,
	TL_CLOSE,
	TL_BEGIN_START,
	TL_BEGIN,
	TL_STMT,
	TL_COMMIT_START,
	TL_COMMIT,
	TL_ROLLBACK,
	TL_TXN_COMMIT,
	TL_TXN_ABORT,
	TL_GLOBAL,    /* crash, recovery, bit flip: every lane */
};

/* Slot height of each kind of line. */
static int slot_h(enum tl_kind k)
{
	switch (k) {
	case TL_OP:
		return 5;
	case TL_STMT:
		return 32;
	case TL_BEGIN:
	case TL_COMMIT:
	case TL_ROLLBACK:
		return 24;
	case TL_OPEN:
	case TL_CLOSE:
	case TL_GLOBAL:
		return 18;
	case TL_TXN_COMMIT:
	case TL_TXN_ABORT:
		return 10;
	case TL_BEGIN_START:
	case TL_COMMIT_START:
		return 4;
	case TL_OTHER:
		return 0;
	}
	return 0;
}

struct tline {
	enum tl_kind kind;
	uint64_t t_us;
	int conn;             /* -1: no connection */
	int rc;
	char name[32];        /* op name, or the step word */
	const char *rest;     /* the rest of the line (not terminated) */
	size_t rest_len;
	int y;                /* bottom of its slot */
	bool in_open_close;   /* TL_OP: part of opening or closing the
				 connection, not of a statement */
};

/* Parse one trace line; false when it is not an event line (e.g. the
 * continuation of a multi-line SQL text). */
static bool parse_line(const char *p, size_t len, struct tline *tl)
{
	memset(tl, 0, sizeof *tl);
	tl->conn = -1;
	char buf[160];
	size_t n = len < sizeof buf - 1 ? len : sizeof buf - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	unsigned long long t;
	int used = 0;
	if (sscanf(buf, "t=%llu %n", &t, &used) != 1 || used == 0)
		return false;
	tl->t_us = t;
	tl->rest = p + used;
	tl->rest_len = len > (size_t)used ? len - (size_t)used : 0;
	int conn, used2 = 0;
	char word[32];
	if (sscanf(buf + used, "conn=%d %31s %n", &conn, word, &used2) != 2) {
		tl->kind = TL_GLOBAL;
		return true;
	}
	tl->conn = conn;
	if (strncmp(word, "op=", 3) == 0) {
		tl->kind = TL_OP;
		snprintf(tl->name, sizeof tl->name, "%s", word + 3);
		return conn >= 0;
	}
	static const struct {
		const char *word;
		enum tl_kind kind;
	} words[] = {
		{"open", TL_OPEN},
		{"close", TL_CLOSE},
		{"begin-start", TL_BEGIN_START},
		{"begin", TL_BEGIN},
		{"stmt", TL_STMT},
		{"commit-start", TL_COMMIT_START},
		{"commit", TL_COMMIT},
		{"rollback", TL_ROLLBACK},
		{"txn-commit", TL_TXN_COMMIT},
		{"txn-abort", TL_TXN_ABORT},
	};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcmp(word, words[i].word) == 0)
			tl->kind = words[i].kind;
	snprintf(tl->name, sizeof tl->name, "%s", word);
	sscanf(buf + used + used2, "rc=%d", &tl->rc);
	return tl->kind != TL_OTHER;
}

/* Text content or attribute value: XML-escaped, ASCII only, at most max
 * characters (then "..."). */
static void xml_text(FILE *f, const char *s, size_t len, size_t max)
{
	size_t shown = 0;
	for (size_t i = 0; i < len && s[i]; i++) {
		if (shown == max) {
			fputs("...", f);
			return;
		}
		unsigned char c = (unsigned char)s[i];
		switch (c) {
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
			fputs("&apos;", f);
			break;
		default:
			fputc(c < 0x20 || c >= 0x7f ? (c == '\n' || c == '\t' ? ' ' : '?') : (int)c, f);
		}
		shown++;
	}
}

static void xml_str(FILE *f, const char *s, size_t max)
{
	xml_text(f, s ? s : "", s ? strlen(s) : 0, max);
}

static const char *op_color(const char *op)
{
	if (strstr(op, "lock"))
		return "#d9822b";
	if (strstr(op, "sync"))
		return "#8e44ad";
	if (strstr(op, "write") || strstr(op, "truncate"))
		return "#2e7d32";
	if (strstr(op, "read"))
		return "#1565c0";
	return "#777777";
}

/* Per-connection walk state while matching trace lines to the history. */
struct lane {
	int x;                /* left edge */
	int w;                /* width: narrow when it ran no transaction */
	uint32_t *txns;       /* the connection's transactions, id order */
	uint32_t txn_count;
	uint32_t next_txn;    /* next of them to start */
	int64_t cur;          /* index in txns of the open one, or -1 */
	uint32_t stmt_in_txn; /* statements of it seen so far */
	int seg_y;            /* y of the connection's last step */
	int first_op_y;       /* first VFS tick since then, or -1 */
	int txn_top;          /* y where the open transaction began */
};

/* The transaction a step of this lane belongs to, starting the next one
 * when none is open. NULL when the history has no more. */
static const struct hist_txn *lane_txn(struct lane *ln, const struct history *h, bool start,
				       int y)
{
	if (ln->cur < 0 && start) {
		if (ln->next_txn >= ln->txn_count)
			return NULL;
		ln->cur = ln->next_txn++;
		ln->stmt_in_txn = 0;
		ln->txn_top = y;
	}
	return ln->cur >= 0 ? h->txns[ln->txns[ln->cur]] : NULL;
}

static bool txn_named(const struct shrink_view *v, uint32_t id)
{
	for (uint32_t i = 0; i < v->txn_count; i++)
		if (v->txns[i] == id)
			return true;
	return false;
}

static void box(FILE *f, int x, int y0, int y1, const char *fill, const char *stroke,
		double stroke_w)
{
	if (y1 - y0 < 6)
		y0 = y1 - 6;
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"3\" fill=\"%s\" stroke=\"%s\" stroke-width=\"%.1f\"/>\n",
		x, y0, SVG_LANE_W - 64, y1 - y0, fill, stroke, stroke_w);
}

/* The trace's lines that the picture draws, in order (connections that
 * the run no longer has are left out). *count receives how many. */
static struct tline *read_lines(const struct shrink_view *v, uint32_t conns, size_t *count)
{
	size_t cap = 64, n = 0;
	struct tline *tl = wh_malloc(cap * sizeof *tl);
	for (size_t pos = 0; pos < v->trace_len;) {
		const char *p = v->trace + pos;
		const char *nl = memchr(p, '\n', v->trace_len - pos);
		size_t len = nl ? (size_t)(nl - p) : v->trace_len - pos;
		pos += len + 1;
		struct tline one;
		if (!parse_line(p, len, &one))
			continue;
		if (one.conn >= (int)conns)
			continue;
		if (n == cap) {
			cap *= 2;
			tl = wh_realloc(tl, cap * sizeof *tl);
		}
		tl[n++] = one;
	}
	*count = n;
	return tl;
}

/* Each line's slot, downward. A VFS operation belongs to the next step
 * of its connection; those of opening and closing a connection get a thin
 * slot, so dozens of them do not push the statements off the page.
 * Returns the y below the last slot. */
static int assign_slots(struct tline *tl, size_t n, uint32_t conns)
{
	enum tl_kind *next_step = wh_malloc((conns ? conns : 1) * sizeof *next_step);
	for (uint32_t c = 0; c < conns; c++)
		next_step[c] = TL_OTHER;
	for (size_t i = n; i-- > 0;) {
		if (tl[i].conn < 0)
			continue;
		if (tl[i].kind == TL_OP)
			tl[i].in_open_close = next_step[tl[i].conn] == TL_OPEN ||
					      next_step[tl[i].conn] == TL_CLOSE ||
					      next_step[tl[i].conn] == TL_OTHER;
		else
			next_step[tl[i].conn] = tl[i].kind;
	}
	free(next_step);
	int y = SVG_TOP;
	for (size_t i = 0; i < n; i++) {
		y += tl[i].in_open_close ? 1 : slot_h(tl[i].kind);
		tl[i].y = y;
	}
	return y;
}

/* One lane per connection, left to right; an idle one is narrow. *right
 * receives the x past the last lane. */
static struct lane *make_lanes(const struct history *h, uint32_t conns, int *right)
{
	struct lane *lanes = wh_calloc(conns ? conns : 1, sizeof *lanes);
	for (uint32_t c = 0; c < conns; c++) {
		lanes[c].txns = wh_malloc((h->txn_count ? h->txn_count : 1) * sizeof(uint32_t));
		lanes[c].cur = -1;
		lanes[c].seg_y = SVG_TOP;
		lanes[c].first_op_y = -1;
	}
	for (uint32_t i = 0; i < h->txn_count; i++) {
		int c = h->txns[i]->conn;
		if (c >= 0 && (uint32_t)c < conns)
			lanes[c].txns[lanes[c].txn_count++] = i;
	}
	int x = SVG_AXIS_W;
	for (uint32_t c = 0; c < conns; c++) {
		lanes[c].x = x;
		lanes[c].w = lanes[c].txn_count > 0 ? SVG_LANE_W : SVG_IDLE_W;
		x += lanes[c].w + SVG_LANE_GAP;
	}
	*right = x;
	return lanes;
}

/* What the drawing of the lines shares. */
struct svg {
	FILE *f;
	const struct shrink_view *v;
	const struct history *h;
	uint32_t conns;
	struct lane *lanes;
	int width, height;
	int read_y;             /* where the violating read was drawn, or -1 */
	/* Parked spans, per connection (as in MIN.sql): a connection whose
	 * last line was inside a SQLite call and whose next line is a VFS
	 * call waited in that call; it is marked when others finished
	 * statements meanwhile. */
	int *park_y;
	bool *park_in_call;
	uint32_t *park_others;
};

static void write_head(struct svg *g)
{
	FILE *f = g->f;
	const struct shrink_view *v = g->v;
	int width = g->width, height = g->height;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans Mono, monospace\" font-size=\"11\">\n",
		width, height, width, height);
	fprintf(f, "<title>whopper shrink: ");
	xml_str(f, v->signature, 400);
	fprintf(f, "</title>\n<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n",
		width, height);
	fprintf(f, "<text x=\"8\" y=\"20\" font-size=\"14\" font-weight=\"bold\">");
	xml_str(f, v->signature, 120);
	fprintf(f, "</text>\n<text x=\"8\" y=\"38\">%" PRIu64 " statements, %u transactions, %u connections; replay: whopper replay ",
		v->res->stats.statements, g->h->txn_count, g->conns);
	xml_str(f, v->whop_path, 120);
	fprintf(f, "</text>\n<text x=\"8\" y=\"54\" fill=\"#555555\">simulated time downward (ordinal: one slot per event, times at the left); ticks: VFS operations</text>\n");
	for (uint32_t c = 0; c < g->conns; c++) {
		const struct lane *ln = &g->lanes[c];
		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>\n", ln->x,
			SVG_TOP - 22, ln->w, height - 110 - SVG_TOP + 30,
			c % 2 ? "#f4f6f8" : "#eef2f6");
		fprintf(f, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">conn %u%s</text>\n", ln->x + 8,
			SVG_TOP - 8, c, ln->txn_count > 0 ? "" : " (idle)");
	}
}

/* The parked span that line L of its connection ends, if any; then the
 * bookkeeping for the next one. */
static void mark_parked(struct svg *g, const struct tline *L)
{
	uint32_t c = (uint32_t)L->conn;
	if (L->kind == TL_OP && g->park_in_call[c] && g->park_others[c] > 0) {
		int px = g->lanes[c].x + 4;
		int span = L->y - g->park_y[c];
		fprintf(g->f, "<rect x=\"%d\" y=\"%d\" width=\"6\" height=\"%d\" fill=\"#ef6c00\" fill-opacity=\"0.75\"><title>parked in ",
			px, g->park_y[c], span > 1 ? span : 1);
		xml_str(g->f, L->name, 31);
		fprintf(g->f, " while other connections finished %u statements</title></rect>\n",
			g->park_others[c]);
	}
	bool stmt_end = L->kind == TL_STMT || L->kind == TL_BEGIN || L->kind == TL_COMMIT ||
			L->kind == TL_ROLLBACK;
	for (uint32_t o = 0; stmt_end && o < g->conns; o++)
		g->park_others[o] += o != c;
	g->park_y[c] = L->y;
	g->park_others[c] = 0;
	g->park_in_call[c] =
		L->kind == TL_OP || L->kind == TL_BEGIN_START || L->kind == TL_COMMIT_START;
}

/* BEGIN, COMMIT or ROLLBACK: a box, the transaction named at its begin. */
static void draw_txn_step(struct svg *g, struct lane *ln, const struct tline *L, int top)
{
	FILE *f = g->f;
	int x = ln->x;
	const struct hist_txn *t = lane_txn(ln, g->h, L->kind == TL_BEGIN, L->y);
	const char *fill = L->kind == TL_COMMIT	  ? "#dff0d8"
			   : L->kind == TL_ROLLBACK ? "#f8d7da"
						    : "#e3e8ef";
	box(f, x + 14, top, L->y - 2, fill, "#5b6b7b", 1.0);
	fprintf(f, "<text x=\"%d\" y=\"%d\">%s", x + 20, L->y - 7,
		L->kind == TL_BEGIN ? "BEGIN" : L->kind == TL_COMMIT ? "COMMIT" : "ROLLBACK");
	if (t && L->kind == TL_BEGIN) {
		fprintf(f, " T%u ", t->id);
		xml_str(f, t->name, 24);
	}
	if (L->rc != 0) {
		fprintf(f, ": ");
		xml_str(f, sqlite3_errstr(L->rc), 24);
	}
	fprintf(f, "</text>\n");
}

/* A statement: its box (red for the violating read), its SQL with the
 * values inline as the tooltip, and its time at the left. */
static void draw_stmt(struct svg *g, struct lane *ln, const struct tline *L, int top)
{
	FILE *f = g->f;
	const struct shrink_view *v = g->v;
	int x = ln->x;
	const struct hist_txn *t = lane_txn(ln, g->h, true, top);
	uint32_t j = ln->stmt_in_txn++;
	const struct hist_stmt *s = t && j < t->stmt_count ? &t->stmts[j] : NULL;
	bool bad = t && v->read_txn == t->id && v->read_stmt == j;
	box(f, x + 14, top, L->y - 2, bad ? "#ffcdd2" : (L->rc == SQLITE_DONE ? "#ffffff" : "#fff3e0"),
	    bad ? "#c62828" : "#5b6b7b", bad ? 3.0 : 1.0);
	fprintf(f, "<text x=\"%d\" y=\"%d\"><title>", x + 20, L->y - 8);
	char sql[512];
	if (s)
		xml_str(f, shrink_inline_sql(s, sql, sizeof sql), 500);
	else
		xml_text(f, L->rest, L->rest_len, 300);
	fprintf(f, "</title>");
	if (t)
		fprintf(f, "T%u ", t->id);
	xml_str(f, s && s->tmpl ? s->tmpl : "statement", 28);
	if (L->rc != SQLITE_DONE) {
		fprintf(f, ": ");
		xml_str(f, sqlite3_errstr(L->rc), 20);
	}
	if (t && t->begin == HIST_BEGIN_AUTOCOMMIT)
		fprintf(f, " (auto)");
	fprintf(f, "</text>\n");
	if (bad) {
		g->read_y = L->y;
		fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"#c62828\" font-weight=\"bold\" text-anchor=\"end\">VIOLATING READ</text>\n",
			x + SVG_LANE_W - 56, L->y - 8);
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"#555555\" text-anchor=\"end\">%.3f ms</text>\n",
		SVG_AXIS_W - 6, L->y - 8, (double)L->t_us / 1000.0);
}

/* The end of a transaction: its bar down the lane (red when the
 * violation names it) and a committed/aborted rule. */
static void draw_txn_end(struct svg *g, struct lane *ln, const struct tline *L)
{
	FILE *f = g->f;
	int x = ln->x;
	const struct hist_txn *t = lane_txn(ln, g->h, false, L->y);
	bool ok = L->kind == TL_TXN_COMMIT;
	const char *color = ok ? "#2e7d32" : "#c62828";
	int bar_top = t ? ln->txn_top : L->y - 8;
	bool named = t && txn_named(g->v, t->id);
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"6\" height=\"%d\" fill=\"%s\"/>\n", x + 4,
		bar_top, L->y - bar_top > 2 ? L->y - bar_top : 2, named ? "#c62828" : "#90a4ae");
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"/>\n",
		x + 2, L->y - 1, x + SVG_LANE_W - 64, L->y - 1, color);
	fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"%s\" font-size=\"9\">%s",
		x + SVG_LANE_W - 60, L->y + 2, color, ok ? "committed" : "aborted");
	if (t)
		fprintf(f, " T%u", t->id);
	fprintf(f, "</text>\n");
	fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"#555555\" text-anchor=\"end\" font-size=\"9\">%.3f ms</text>\n",
		SVG_AXIS_W - 6, L->y + 2, (double)L->t_us / 1000.0);
	ln->cur = -1;
}

/* One line of the trace: a run-wide event across the picture, a VFS
 * tick, or a step of a connection in its lane. */
static void draw_line(struct svg *g, const struct tline *L)
{
	FILE *f = g->f;
	if (L->conn >= 0 && (uint32_t)L->conn < g->conns)
		mark_parked(g, L);
	if (L->kind == TL_GLOBAL) {
		fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#c62828\" stroke-dasharray=\"6,3\"/>\n<text x=\"%d\" y=\"%d\" fill=\"#c62828\">",
			SVG_AXIS_W, L->y - 4, g->width - 8, L->y - 4, SVG_AXIS_W + 4, L->y - 7);
		xml_text(f, L->rest, L->rest_len, 90);
		fprintf(f, "</text>\n");
		return;
	}
	if (L->conn < 0)
		return;
	struct lane *ln = &g->lanes[L->conn];
	int x = ln->x;
	if (L->kind == TL_OP) {
		if (ln->first_op_y < 0)
			ln->first_op_y = L->y - 3;
		fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"><title>",
			x + ln->w - 56, L->y - 2, x + ln->w - 8, L->y - 2, op_color(L->name));
		xml_str(f, L->name, 31);
		fprintf(f, " (t=%" PRIu64 " us)</title></line>\n", L->t_us);
		return;
	}
	int top = ln->first_op_y >= 0 ? ln->first_op_y : L->y - SVG_BOX_H;
	if (top < ln->seg_y + 1 && ln->first_op_y < 0)
		top = ln->seg_y + 1;
	switch (L->kind) {
	case TL_BEGIN_START:
		lane_txn(ln, g->h, true, L->y - 2);
		break;
	case TL_BEGIN:
	case TL_COMMIT:
	case TL_ROLLBACK:
		draw_txn_step(g, ln, L, top);
		break;
	case TL_STMT:
		draw_stmt(g, ln, L, top);
		break;
	case TL_TXN_COMMIT:
	case TL_TXN_ABORT:
		draw_txn_end(g, ln, L);
		break;
	case TL_OPEN:
	case TL_CLOSE:
		fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"#555555\">%s</text>\n", x + 20, L->y - 5,
			L->kind == TL_OPEN ? "open" : "close");
		break;
	case TL_COMMIT_START:
	case TL_OP:
	case TL_GLOBAL:
	case TL_OTHER:
		break;
	}
	ln->seg_y = L->y;
	ln->first_op_y = -1;
}

/* Legend: what the oracle said, and its paragraph cut into lines that fit
 * the picture. */
static void write_legend(struct svg *g)
{
	FILE *f = g->f;
	const struct shrink_view *v = g->v;
	int ly = g->height - 96;
	fprintf(f, "<text x=\"8\" y=\"%d\" font-weight=\"bold\" fill=\"#c62828\">", ly);
	xml_str(f, v->kind ? v->kind : "failure", 60);
	if (v->read_txn != SHRINK_NONE)
		fprintf(f, ": T%u", v->read_txn);
	if (v->read_stmt != SHRINK_NONE)
		fprintf(f, " statement %u", v->read_stmt);
	if (g->read_y < 0 && v->read_stmt != SHRINK_NONE)
		fprintf(f, " (not found in the trace)");
	fprintf(f, "</text>\n");
	if (v->observed[0] || v->expected[0]) {
		fprintf(f, "<text x=\"8\" y=\"%d\">observed: ", ly + 16);
		xml_str(f, v->observed, 150);
		fprintf(f, "</text>\n<text x=\"8\" y=\"%d\">expected: ", ly + 32);
		xml_str(f, v->expected, 150);
		fprintf(f, "</text>\n");
	}
	const char *d = v->detail ? v->detail : "";
	size_t per_line = (size_t)(g->width - 16) / 7;
	if (per_line < 40)
		per_line = 40;
	for (int line = 0; line < 3 && *d; line++) {
		size_t len = strlen(d);
		size_t take = len < per_line ? len : per_line;
		fprintf(f, "<text x=\"8\" y=\"%d\" fill=\"#555555\" font-size=\"10\">", ly + 50 + line * 14);
		xml_text(f, d, take, line == 2 ? per_line - 3 : per_line);
		fprintf(f, "</text>\n");
		d += take;
	}
}

void shrink_svg_write(FILE *f, const struct shrink_view *v)
{
	const uint32_t conns = v->opts->cfg.conn_count;
	size_t n;
	struct tline *tl = read_lines(v, conns, &n);
	int y = assign_slots(tl, n, conns);
	int right;
	struct svg g = {.f = f, .v = v, .h = &v->res->history, .conns = conns, .read_y = -1};
	g.lanes = make_lanes(g.h, conns, &right);
	g.height = y + 110;
	g.width = right + 8 > 640 ? right + 8 : 640;
	g.park_y = wh_calloc(conns ? conns : 1, sizeof *g.park_y);
	g.park_in_call = wh_calloc(conns ? conns : 1, sizeof *g.park_in_call);
	g.park_others = wh_calloc(conns ? conns : 1, sizeof *g.park_others);
	write_head(&g);
	for (size_t i = 0; i < n; i++)
		draw_line(&g, &tl[i]);
	write_legend(&g);
	fprintf(f, "</svg>\n");
	for (uint32_t c = 0; c < conns; c++)
		free(g.lanes[c].txns);
	free(g.park_y);
	free(g.park_in_call);
	free(g.park_others);
	free(g.lanes);
	free(tl);
}
