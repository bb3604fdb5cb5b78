/* The medication tracking form as PDF: cairo's PDF surface writes into a
 * memory buffer, pango lays out and shapes every text (fontconfig falls back
 * from DejaVu Sans to a CJK font for names it cannot show), so the text is
 * real, extractable text. Every text that repeats (a medication's name,
 * dosage and instructions on each day's page, slot numbers, times) is shaped
 * once per render and drawn as often as needed; pagination is computed from
 * those cached heights in a first pass, so that "Page i of n" is known
 * before the second pass draws. Black on white only, so the form survives a
 * monochrome printer. Built as the module meditrack-pdf.so, whose exported
 * table is report_pdf_module (pdf_module.h): only processes that print load
 * cairo, pango and fontconfig. Reached through report.h from api/report_form.c. */
#include "report/pdf_module.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <errno.h>
#include <fontconfig/fontconfig.h>
#include <pango/pangocairo.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/module.h"

/* DejaVu covers Latin, Greek and Cyrillic; Droid Sans Fallback (or Noto
 * CJK, when installed) covers Chinese, Japanese and Korean. Fontconfig adds
 * whatever else it knows after these. */
#define FONT_FAMILIES "DejaVu Sans,Droid Sans Fallback,Noto Sans CJK JP,sans-serif"

/* Page geometry, in points (1/72 inch, cairo's PDF unit). */
#define MARGIN_X 40.0
#define MARGIN_TOP 40.0
#define MARGIN_BOTTOM 36.0
#define FOOTER_H 24.0
#define LEFT_SHARE 0.40 /* of the content width, for the medication column */
#define COL_GAP 12.0
#define SLOT_H 24.0
#define SLOT_GAP 6.0
#define SLOT_MIN_W 64.0
#define ROW_PAD 6.0
#define MINUTES_PER_DAY 1440

/* One mutex for all renders: pango's font map and contexts are not
 * thread-safe, and forms are rare enough that one at a time is plenty. */
static pthread_mutex_t render_lock = PTHREAD_MUTEX_INITIALIZER;
static PangoFontMap *font_map; /* guarded by render_lock */

/* Pango (1.50) matches and sorts fonts in helper threads that each hold a
 * reference to the font map until they end, so dropping ours does not
 * always free it: shutdown_fonts waits for font_map_gone before it resets
 * cairo's and fontconfig's global caches, which must be unused by then
 * (cairo asserts that no scaled font is alive). */
static pthread_mutex_t gone_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gone_cond = PTHREAD_COND_INITIALIZER;
static bool font_map_gone = true; /* guarded by gone_lock */

/* How long shutdown_fonts waits for pango's threads, in seconds. */
#define FONT_MAP_GONE_WAIT 10

static const char *const weekdays[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                        "Thursday", "Friday", "Saturday"};

enum face { F_REGULAR, F_BOLD, F_ITALIC };

/* A shaped text and its height in points. */
struct text {
    PangoLayout *l; /* NULL: nothing to show */
    double h;
};

/* The shaped texts of one medication's left column. */
struct med_text {
    struct text name, dose, owner, rules, sched, instr;
    double height; /* of the whole column */
};

/* Everything one render works with. */
struct pdf {
    const struct report_form *f;
    cairo_t *cr;
    PangoContext *ctx;
    PangoLayout *lay; /* for texts drawn once */
    PangoFontDescription *font;
    bool draw; /* false in the pagination pass */
    double w, h;
    double x0, x1;   /* content edges */
    double left_w;   /* medication column */
    double slots_x;  /* left edge of the slot grid */
    double slots_w;  /* its width */
    int slot_cols;   /* boxes per row */
    double slot_w;   /* width of a box */
    double y;        /* the cursor: top of the next thing to place */
    double body_top; /* first y below a page's header */
    double bottom;   /* last y above the footer */
    int page, pages; /* current page (1-based), total from the pagination pass */
    size_t *bucket;  /* start of each (day, medication) bucket in order[] */
    size_t *order;   /* dose indices grouped by day and medication */
    struct mt_buf text;

    /* Shaped once per render. */
    struct med_text *meds;
    struct text title, date_line, col_med, col_slots, note, generated, no_doses;
    struct text deleted_head, deleted_note;
    struct text slot_num[REPORT_MAX_SLOTS];
    struct text ampm;
    struct text *times; /* [2 * MINUTES_PER_DAY], made when first needed; the second half
                         * marked "*" (overridden doses) */
    double time_h;
};

/* ---- text -------------------------------------------------------------------------------- */

/* Appends s to b as text pango accepts: invalid UTF-8 becomes U+FFFD and
 * control characters (a newline in a name, say) become spaces, so that a
 * name keeps to its row. */
static void add_clean(struct mt_buf *b, const char *s)
{
    size_t len = strlen(s);
    while (len) {
        const gchar *end;
        g_utf8_validate(s, (gssize)len, &end);
        for (const char *q = s; q < end; q++)
            mt_buf_addc(b, ((unsigned char)*q < 0x20 || *q == 0x7f) ? ' ' : *q);
        size_t good = (size_t)(end - s);
        s += good;
        len -= good;
        if (len) {
            mt_buf_adds(b, "\xEF\xBF\xBD");
            s++;
            len--;
        }
    }
}

/* Sets up l for len bytes of UTF-8 text in width points (wrapping at words,
 * or anywhere in a word too long for a line), at most max_lines lines (0: no
 * limit; the last kept line ends in an ellipsis). Returns the height. */
static double shape(struct pdf *p, PangoLayout *l, const char *s, size_t len, double size,
                    enum face face, double width, int max_lines, PangoAlignment align)
{
    pango_font_description_set_size(p->font, (gint)(size * PANGO_SCALE));
    pango_font_description_set_weight(p->font,
                                      face == F_BOLD ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
    pango_font_description_set_style(p->font,
                                     face == F_ITALIC ? PANGO_STYLE_ITALIC : PANGO_STYLE_NORMAL);
    pango_layout_set_font_description(l, p->font);
    pango_layout_set_width(l, (int)(width * PANGO_SCALE));
    pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
    pango_layout_set_alignment(l, align);
    pango_layout_set_ellipsize(l, max_lines > 0 ? PANGO_ELLIPSIZE_END : PANGO_ELLIPSIZE_NONE);
    pango_layout_set_height(l, max_lines > 0 ? -max_lines : -1);
    pango_layout_set_text(l, s, (int)len);
    int w_units, h_units;
    pango_layout_get_size(l, &w_units, &h_units);
    return (double)h_units / PANGO_SCALE;
}

/* A new shaped text of our own (clean = false) or of a user (clean = true). */
static struct text make(struct pdf *p, const char *s, bool clean, double size, enum face face,
                        double width, int max_lines, PangoAlignment align)
{
    struct text t = {pango_layout_new(p->ctx), 0};
    if (clean) {
        mt_buf_reset(&p->text);
        add_clean(&p->text, s);
        s = p->text.data;
    }
    t.h = shape(p, t.l, s, strlen(s), size, face, width, max_lines, align);
    return t;
}

static void drop(struct text *t)
{
    if (t->l)
        g_object_unref(t->l);
    t->l = NULL;
}

static void show(struct pdf *p, const struct text *t, double x, double y)
{
    if (!p->draw || !t->l)
        return;
    cairo_move_to(p->cr, x, y);
    pango_cairo_show_layout(p->cr, t->l);
}

/* Shapes a text that is drawn once into the shared layout; returns it. */
static struct text once(struct pdf *p, const char *s, size_t len, double size, enum face face,
                        double width, int max_lines, PangoAlignment align)
{
    struct text t = {p->lay, 0};
    t.h = shape(p, p->lay, s, len, size, face, width, max_lines, align);
    return t;
}

static void rule(struct pdf *p, double y, double width, double gray)
{
    if (!p->draw)
        return;
    cairo_set_source_rgb(p->cr, gray, gray, gray);
    cairo_set_line_width(p->cr, width);
    cairo_move_to(p->cr, p->x0, y);
    cairo_line_to(p->cr, p->x1, y);
    cairo_stroke(p->cr);
    cairo_set_source_rgb(p->cr, 0, 0, 0);
}

static void hhmm(int minute, char *buf, size_t cap)
{
    snprintf(buf, cap, "%02d:%02d", minute / 60 % 24, minute % 60);
}

/* The shaped "HH:MM" of a minute of the day, made on first use; marked
 * "HH:MM*" for a dose given despite a dosing rule. */
static const struct text *time_text(struct pdf *p, int minute, bool marked)
{
    struct text *t = &p->times[minute + (marked ? MINUTES_PER_DAY : 0)];
    if (!t->l) {
        char buf[12];
        snprintf(buf, sizeof(buf), "%02d:%02d%s", minute / 60 % 24, minute % 60, marked ? "*" : "");
        *t = make(p, buf, false, 11.5, F_BOLD, p->slot_w, 1, PANGO_ALIGN_CENTER);
    }
    return t;
}

/* True when a dose of the form was given despite a dosing rule. */
static bool any_override(const struct report_form *f)
{
    for (size_t i = 0; i < f->n_doses; i++)
        if (f->doses[i].overridden)
            return true;
    return false;
}

/* ---- doses by day and medication --------------------------------------------------------- */

static size_t bucket_key(const struct pdf *p, size_t day, size_t med)
{
    return day * (p->f->n_meds + 1) + med;
}

/* Groups the doses by (day, medication), deleted medications last in each
 * day, keeping their order (a counting sort). */
static int group_doses(struct pdf *p, struct mt_err *err)
{
    const struct report_form *f = p->f;
    size_t n_buckets, bytes;
    if (!mt_size_mul(f->n_days, f->n_meds + 1, &n_buckets) ||
        !mt_size_add(n_buckets, 1, &n_buckets) || !mt_size_mul(n_buckets, sizeof(size_t), &bytes))
        return mt_fail(err, MT_ELIMIT, "the form is too large to print");
    p->bucket = mt_xcalloc(n_buckets, sizeof(size_t));
    p->order = mt_xcalloc(f->n_doses ? f->n_doses : 1, sizeof(size_t));
    for (size_t i = 0; i < f->n_doses; i++) {
        const struct report_dose *d = &f->doses[i];
        p->bucket[bucket_key(p, d->day, d->deleted ? f->n_meds : d->med) + 1]++;
    }
    for (size_t k = 1; k < n_buckets; k++)
        p->bucket[k] += p->bucket[k - 1];
    size_t *fill = mt_xcalloc(n_buckets, sizeof(size_t));
    memcpy(fill, p->bucket, bytes);
    for (size_t i = 0; i < f->n_doses; i++) {
        const struct report_dose *d = &f->doses[i];
        p->order[fill[bucket_key(p, d->day, d->deleted ? f->n_meds : d->med)]++] = i;
    }
    free(fill);
    return 0;
}

/* The doses of one bucket: order[*first .. *end). */
static void bucket_range(const struct pdf *p, size_t day, size_t med, size_t *first, size_t *end)
{
    size_t k = bucket_key(p, day, med);
    *first = p->bucket[k];
    *end = p->bucket[k + 1];
}

/* ---- texts shaped once ------------------------------------------------------------------- */

static void med_prepare(struct pdf *p, const struct report_med *m, struct med_text *t)
{
    double w = p->left_w;
    t->name = make(p, m->name, true, 11.5, F_BOLD, w, 3, PANGO_ALIGN_LEFT);
    t->height = t->name.h;

    mt_buf_reset(&p->text);
    add_clean(&p->text, m->dosage);
    if (m->frequency && m->frequency[0]) {
        if (p->text.len)
            mt_buf_adds(&p->text, " \xC2\xB7 "); /* middle dot */
        add_clean(&p->text, m->frequency);
    }
    if (p->text.len) {
        t->dose = make(p, p->text.data, false, 10, F_REGULAR, w, 2, PANGO_ALIGN_LEFT);
        t->height += 1 + t->dose.h;
    }
    if (m->owner) {
        mt_buf_reset(&p->text);
        mt_buf_adds(&p->text, "For ");
        add_clean(&p->text, m->owner);
        t->owner = make(p, p->text.data, false, 9, F_BOLD, w, 1, PANGO_ALIGN_LEFT);
        t->height += 1 + t->owner.h;
    }
    if (m->rules && m->rules[0]) {
        t->rules = make(p, m->rules, true, 8.5, F_BOLD, w, 3, PANGO_ALIGN_LEFT);
        t->height += 1 + t->rules.h;
    }
    if (m->schedule && m->schedule[0]) {
        t->sched = make(p, m->schedule, true, 8.5, F_REGULAR, w, 3, PANGO_ALIGN_LEFT);
        t->height += 1 + t->sched.h;
    }
    if (m->instructions && m->instructions[0]) {
        t->instr = make(p, m->instructions, true, 9, F_ITALIC, w, 6, PANGO_ALIGN_LEFT);
        t->height += 2 + t->instr.h;
    }
}

static void prepare(struct pdf *p)
{
    const struct report_form *f = p->f;
    double cw = p->x1 - p->x0;
    p->left_w = cw * LEFT_SHARE;
    p->slots_x = p->x0 + p->left_w + COL_GAP;
    p->slots_w = cw - p->left_w - COL_GAP;
    p->slot_cols = (int)((p->slots_w + SLOT_GAP) / (SLOT_MIN_W + SLOT_GAP));
    if (p->slot_cols < 1)
        p->slot_cols = 1;
    if (p->slot_cols > 6)
        p->slot_cols = 6;
    p->slot_w = (p->slots_w - (p->slot_cols - 1) * SLOT_GAP) / p->slot_cols;

    p->title = make(p, f->title, true, 17, F_BOLD, cw, 2, PANGO_ALIGN_LEFT);
    p->date_line =
        make(p, "Date: Wednesday, 2000-01-01", false, 13, F_BOLD, cw * 0.7, 1, PANGO_ALIGN_LEFT);
    p->col_med = make(p, "Medication", false, 8.5, F_BOLD, p->left_w, 1, PANGO_ALIGN_LEFT);
    p->col_slots =
        make(p, "Time of each dose", false, 8.5, F_BOLD, p->slots_w, 1, PANGO_ALIGN_LEFT);
    p->note = make(p,
                   any_override(f) && f->prefill
                       ? "Write each dose's time in a box. * given despite a dosing rule."
                       : "Write the time in a box as each dose is given.",
                   false, 7.5, F_REGULAR, cw / 2, 1, PANGO_ALIGN_LEFT);
    p->no_doses = make(p, "No doses were recorded on this day.", false, 9.5, F_ITALIC, cw, 1,
                       PANGO_ALIGN_LEFT);
    p->deleted_head = make(p, "Deleted medications: doses recorded on this day", false, 10.5,
                           F_BOLD, cw, 1, PANGO_ALIGN_LEFT);
    p->deleted_note = make(p,
                           "These medications were deleted after the doses were recorded; "
                           "their doses stay in the history.",
                           false, 8, F_ITALIC, cw, 2, PANGO_ALIGN_LEFT);

    int64_t local = f->generated_us - (int64_t)f->tz_offset * 60 * MT_USEC_PER_SEC;
    struct mt_date d = mt_date_from_days(mt_floor_div(local, MT_USEC_PER_DAY));
    int64_t sec = mt_floor_mod(local, MT_USEC_PER_DAY) / MT_USEC_PER_SEC;
    char buf[96], date[16], off[16];
    snprintf(buf, sizeof(buf), "Generated %s %02d:%02d %s", mt_format_date(d, date, sizeof(date)),
             (int)(sec / 3600), (int)(sec / 60 % 60), report_utc_offset(f->tz_offset, off, 16));
    p->generated = make(p, buf, false, 7.5, F_REGULAR, cw / 2, 1, PANGO_ALIGN_RIGHT);

    for (int i = 0; i < REPORT_MAX_SLOTS; i++) {
        snprintf(buf, sizeof(buf), "%d", i + 1);
        p->slot_num[i] = make(p, buf, false, 6.5, F_BOLD, 14, 1, PANGO_ALIGN_LEFT);
    }
    p->ampm = make(p, "AM / PM", false, 6, F_REGULAR, p->slot_w - 4, 1, PANGO_ALIGN_RIGHT);
    p->time_h = time_text(p, 0, false)->h;

    p->meds = mt_xcalloc(f->n_meds ? f->n_meds : 1, sizeof(*p->meds));
    for (size_t i = 0; i < f->n_meds; i++)
        med_prepare(p, &f->meds[i], &p->meds[i]);
}

static void unprepare(struct pdf *p)
{
    struct text *all[] = {&p->title,        &p->date_line, &p->col_med,  &p->col_slots,
                          &p->note,         &p->generated, &p->no_doses, &p->deleted_head,
                          &p->deleted_note, &p->ampm};
    for (size_t i = 0; i < MT_ARRAY_LEN(all); i++)
        drop(all[i]);
    for (int i = 0; i < REPORT_MAX_SLOTS; i++)
        drop(&p->slot_num[i]);
    for (int i = 0; p->times && i < 2 * MINUTES_PER_DAY; i++)
        drop(&p->times[i]);
    for (size_t i = 0; p->meds && i < p->f->n_meds; i++) {
        drop(&p->meds[i].name);
        drop(&p->meds[i].dose);
        drop(&p->meds[i].owner);
        drop(&p->meds[i].rules);
        drop(&p->meds[i].sched);
        drop(&p->meds[i].instr);
    }
    free(p->meds);
}

/* ---- pages ------------------------------------------------------------------------------- */

static void page_footer(struct pdf *p)
{
    if (!p->draw)
        return;
    double y = p->h - MARGIN_BOTTOM - FOOTER_H + 6;
    double cw = p->x1 - p->x0;
    rule(p, y - 4, 0.5, 0.0);
    show(p, &p->note, p->x0, y);
    char buf[64];
    int n = snprintf(buf, sizeof(buf), "Page %d of %d", p->page, p->pages);
    struct text t = once(p, buf, (size_t)n, 8, F_BOLD, cw, 1, PANGO_ALIGN_CENTER);
    show(p, &t, p->x0, y);
    show(p, &p->generated, p->x0 + cw / 2, y);
}

/* Starts a page of day: title, date, column heads. */
static void page_begin(struct pdf *p, size_t day, bool continued)
{
    const struct report_form *f = p->f;
    p->page++;
    double cw = p->x1 - p->x0;
    double y = MARGIN_TOP;
    show(p, &p->title, p->x0, y);
    y += p->title.h + 4;

    if (p->draw) {
        struct mt_date d = mt_date_from_days(mt_date_to_days(f->first_day) + (int64_t)day);
        int64_t wd = mt_floor_mod(mt_date_to_days(d) + 4, 7); /* 1970-01-01 was a Thursday */
        char iso[16], buf[96];
        int n = snprintf(buf, sizeof(buf), "Date: %s, %s", weekdays[wd],
                         mt_format_date(d, iso, sizeof(iso)));
        struct text t = once(p, buf, (size_t)n, 13, F_BOLD, cw * 0.7, 1, PANGO_ALIGN_LEFT);
        show(p, &t, p->x0, y);
        n = snprintf(buf, sizeof(buf), "Day %zu of %zu%s", day + 1, f->n_days,
                     continued ? " (continued)" : "");
        t = once(p, buf, (size_t)n, 9.5, F_REGULAR, cw * 0.5, 1, PANGO_ALIGN_RIGHT);
        show(p, &t, p->x0 + cw * 0.5, y + 3);
    }
    y += p->date_line.h + 5;
    rule(p, y, 1.2, 0.0);
    y += 4;
    show(p, &p->col_med, p->x0, y);
    show(p, &p->col_slots, p->slots_x, y);
    y += p->col_med.h + 3;
    rule(p, y, 0.5, 0.0);
    p->y = y + 1;
    p->body_top = p->y;
    p->bottom = p->h - MARGIN_BOTTOM - FOOTER_H - 4;
}

static void page_end(struct pdf *p)
{
    page_footer(p);
    if (p->draw)
        cairo_show_page(p->cr);
}

/* Moves to a new page of day when need points do not fit below the cursor
 * (unless the page is still empty: then the content is cut at the bottom
 * rather than looping). */
static void make_room(struct pdf *p, size_t day, double need)
{
    if (p->y + need <= p->bottom || p->y <= p->body_top)
        return;
    page_end(p);
    page_begin(p, day, true);
}

/* ---- one medication row ------------------------------------------------------------------ */

static void med_text_show(struct pdf *p, const struct med_text *t, double y)
{
    show(p, &t->name, p->x0, y);
    y += t->name.h;
    if (t->dose.l) {
        show(p, &t->dose, p->x0, y + 1);
        y += 1 + t->dose.h;
    }
    if (t->owner.l) {
        show(p, &t->owner, p->x0, y + 1);
        y += 1 + t->owner.h;
    }
    if (t->rules.l) {
        show(p, &t->rules, p->x0, y + 1);
        y += 1 + t->rules.h;
    }
    if (t->sched.l) {
        show(p, &t->sched, p->x0, y + 1);
        y += 1 + t->sched.h;
    }
    if (t->instr.l)
        show(p, &t->instr, p->x0, y + 2);
}

static int slot_count(const struct report_med *m)
{
    if (m->max_doses < 1)
        return 1;
    return m->max_doses > REPORT_MAX_SLOTS ? REPORT_MAX_SLOTS : m->max_doses;
}

/* "Also recorded: 21:30, 22:05" for doses beyond the boxes (drawn once). */
static struct text extra_doses(struct pdf *p, size_t from, size_t end)
{
    mt_buf_reset(&p->text);
    mt_buf_adds(&p->text, "Also recorded:");
    for (size_t i = from; i < end; i++) {
        char t[8];
        const struct report_dose *d = &p->f->doses[p->order[i]];
        hhmm(d->minute, t, sizeof(t));
        mt_buf_addf(&p->text, "%s %s%s", i == from ? "" : ",", t, d->overridden ? "*" : "");
    }
    return once(p, p->text.data, p->text.len, 9, F_BOLD, p->slots_w, 4, PANGO_ALIGN_LEFT);
}

/* The height of the slot grid of a medication on a day. */
static double slots_height(struct pdf *p, size_t day, size_t med, struct text *extra)
{
    int slots = slot_count(&p->f->meds[med]);
    int rows = (slots + p->slot_cols - 1) / p->slot_cols;
    double h = rows * SLOT_H + (rows - 1) * SLOT_GAP;
    extra->l = NULL;
    extra->h = 0;
    if (p->f->prefill) {
        size_t first, end;
        bucket_range(p, day, med, &first, &end);
        if (end - first > (size_t)slots) {
            *extra = extra_doses(p, first + (size_t)slots, end);
            h += 3 + extra->h;
        }
    }
    return h;
}

/* One box per allowed dose, the recorded times in the first boxes. */
static void slots_show(struct pdf *p, size_t day, size_t med, double y, const struct text *extra)
{
    const struct report_form *f = p->f;
    int slots = slot_count(&f->meds[med]);
    size_t first = 0, end = 0;
    if (f->prefill)
        bucket_range(p, day, med, &first, &end);
    cairo_set_line_width(p->cr, 0.8);
    for (int i = 0; i < slots; i++) {
        double bx = p->slots_x + (i % p->slot_cols) * (p->slot_w + SLOT_GAP);
        double by = y + (i / p->slot_cols) * (SLOT_H + SLOT_GAP);
        cairo_rectangle(p->cr, bx, by, p->slot_w, SLOT_H);
    }
    cairo_stroke(p->cr);
    for (int i = 0; i < slots; i++) {
        double bx = p->slots_x + (i % p->slot_cols) * (p->slot_w + SLOT_GAP);
        double by = y + (i / p->slot_cols) * (SLOT_H + SLOT_GAP);
        show(p, &p->slot_num[i], bx + 2.5, by + 1.5);
        if (first + (size_t)i < end) {
            const struct report_dose *d = &f->doses[p->order[first + (size_t)i]];
            show(p, time_text(p, d->minute, d->overridden), bx, by + (SLOT_H - p->time_h) / 2);
        } else
            show(p, &p->ampm, bx + 1, by + SLOT_H - p->ampm.h - 1.5);
    }
    if (extra->l) {
        int rows = (slots + p->slot_cols - 1) / p->slot_cols;
        show(p, extra, p->slots_x, y + rows * SLOT_H + (rows - 1) * SLOT_GAP + 3);
    }
}

/* A medication's row, moved to a new page when it does not fit. */
static void med_row(struct pdf *p, size_t day, size_t med)
{
    const struct med_text *t = &p->meds[med];
    struct text extra;
    double sh = slots_height(p, day, med, &extra);
    double h = (t->height > sh ? t->height : sh) + 2 * ROW_PAD;
    make_room(p, day, h);
    if (p->draw) {
        /* make_room may have drawn a footer with the shared layout. */
        if (extra.l)
            slots_height(p, day, med, &extra);
        med_text_show(p, t, p->y + ROW_PAD);
        slots_show(p, day, med, p->y + ROW_PAD, &extra);
    }
    p->y += h;
    rule(p, p->y, 0.4, 0.45);
}

/* ---- doses of deleted medications -------------------------------------------------------- */

/* Lists the day's doses of deleted medications, one line per name (first
 * seen first), times in order. */
static void deleted_section(struct pdf *p, size_t day)
{
    const struct report_form *f = p->f;
    size_t first, end;
    bucket_range(p, day, f->n_meds, &first, &end);
    if (first == end)
        return;
    double cw = p->x1 - p->x0;
    make_room(p, day, 8 + p->deleted_head.h + 1 + p->deleted_note.h + 3 + 14);
    p->y += 8;
    show(p, &p->deleted_head, p->x0, p->y);
    p->y += p->deleted_head.h + 1;
    show(p, &p->deleted_note, p->x0, p->y);
    p->y += p->deleted_note.h + 3;

    for (size_t i = first; i < end; i++) {
        const char *name = f->doses[p->order[i]].name;
        bool seen = false;
        for (size_t j = first; j < i && !seen; j++)
            seen = strcmp(f->doses[p->order[j]].name, name) == 0;
        if (seen)
            continue;
        mt_buf_reset(&p->text);
        add_clean(&p->text, name);
        mt_buf_adds(&p->text, " (deleted):");
        bool first_time = true;
        for (size_t j = i; j < end; j++) {
            const struct report_dose *d = &f->doses[p->order[j]];
            if (strcmp(d->name, name) != 0)
                continue;
            char t[8];
            hhmm(d->minute, t, sizeof(t));
            mt_buf_addf(&p->text, "%s %s%s", first_time ? "" : ",", t, d->overridden ? "*" : "");
            first_time = false;
        }
        /* Measured before make_room, shaped again after it when drawing:
         * a page break draws the footer with the same shared layout. */
        double h = once(p, p->text.data, p->text.len, 10, F_REGULAR, cw, 4, PANGO_ALIGN_LEFT).h;
        make_room(p, day, h + 2);
        if (p->draw) {
            struct text t =
                once(p, p->text.data, p->text.len, 10, F_REGULAR, cw, 4, PANGO_ALIGN_LEFT);
            show(p, &t, p->x0, p->y);
        }
        p->y += h + 2;
    }
}

/* ---- the document ------------------------------------------------------------------------ */

static void day_pages(struct pdf *p, size_t day)
{
    const struct report_form *f = p->f;
    page_begin(p, day, false);
    if (f->prefill && p->bucket[bucket_key(p, day, 0)] == p->bucket[bucket_key(p, day + 1, 0)]) {
        p->y += 4;
        show(p, &p->no_doses, p->x0, p->y);
        p->y += p->no_doses.h;
    }
    for (size_t m = 0; m < f->n_meds; m++)
        med_row(p, day, m);
    if (f->prefill)
        deleted_section(p, day);
    page_end(p);
}

static void all_pages(struct pdf *p)
{
    p->page = 0;
    for (size_t day = 0; day < p->f->n_days; day++)
        day_pages(p, day);
}

static cairo_status_t write_out(void *closure, const unsigned char *data, unsigned int len)
{
    struct mt_buf *out = closure;
    mt_buf_add(out, data, len);
    return out->failed ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

static int check_form(const struct report_form *f, struct mt_err *err)
{
    if (!f->title || f->n_days < 1 || f->n_days > REPORT_MAX_DAYS)
        return mt_fail(err, MT_EINVAL, "invalid form: %zu days (expected 1 to %d)", f->n_days,
                       REPORT_MAX_DAYS);
    if (!mt_date_valid(f->first_day.year, f->first_day.month, f->first_day.day))
        return mt_fail(err, MT_EINVAL, "invalid form: bad first day");
    for (size_t i = 0; i < f->n_meds; i++)
        if (!f->meds[i].name || !f->meds[i].dosage)
            return mt_fail(err, MT_EINVAL, "invalid form: medication %zu has no name", i);
    for (size_t i = 0; i < f->n_doses; i++) {
        const struct report_dose *d = &f->doses[i];
        if (d->day >= f->n_days || d->minute < 0 || d->minute >= MINUTES_PER_DAY ||
            (d->deleted ? !d->name : d->med >= f->n_meds))
            return mt_fail(err, MT_EINVAL, "invalid form: dose %zu is out of range", i);
    }
    return 0;
}

/* Destroy notifier of the font map's data: it is gone. */
static void font_map_finalized(gpointer data)
{
    (void)data;
    pthread_mutex_lock(&gone_lock);
    font_map_gone = true;
    pthread_cond_broadcast(&gone_cond);
    pthread_mutex_unlock(&gone_lock);
}

/* Waits until the font map is finalised, up to FONT_MAP_GONE_WAIT seconds
 * (a realtime deadline: the condition variable has the default clock, and a
 * clock step only changes a bound that is never reached in practice). */
static bool wait_font_map_gone(void)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += FONT_MAP_GONE_WAIT;
    pthread_mutex_lock(&gone_lock);
    int rc = 0;
    while (!font_map_gone && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&gone_cond, &gone_lock, &deadline);
    bool gone = font_map_gone;
    pthread_mutex_unlock(&gone_lock);
    return gone;
}

/* The shared font map, made on first use. Called with render_lock held. */
static PangoFontMap *fonts(void)
{
    if (!font_map) {
        font_map = pango_cairo_font_map_new();
        pthread_mutex_lock(&gone_lock);
        font_map_gone = false;
        pthread_mutex_unlock(&gone_lock);
        /* Object data is destroyed at the very end of the font map's
         * finalisation, after pango has released its fonts and with them
         * cairo's scaled fonts, in whichever thread drops the last
         * reference. */
        g_object_set_data_full(G_OBJECT(font_map), "meditrack-font-map-gone", &font_map_gone,
                               font_map_finalized);
    }
    return font_map;
}

/* The PDF's creation date in the form cairo wants: local time with offset. */
static void pdf_date(const struct report_form *f, char *buf, size_t cap)
{
    int64_t local = f->generated_us - (int64_t)f->tz_offset * 60 * MT_USEC_PER_SEC;
    struct mt_date d = mt_date_from_days(mt_floor_div(local, MT_USEC_PER_DAY));
    int64_t sec = mt_floor_mod(local, MT_USEC_PER_DAY) / MT_USEC_PER_SEC;
    int east = -f->tz_offset, a = east < 0 ? -east : east;
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", d.year, d.month, d.day,
             (int)(sec / 3600), (int)(sec / 60 % 60), (int)(sec % 60), east < 0 ? '-' : '+', a / 60,
             a % 60);
}

/* A pango context for cr: sizes in points (the PDF surface's unit) and
 * unhinted metrics, so that glyph positions are exact at any zoom. */
static PangoContext *make_context(cairo_t *cr)
{
    PangoContext *ctx = pango_font_map_create_context(fonts());
    pango_cairo_update_context(cr, ctx);
    pango_cairo_context_set_resolution(ctx, 72.0);
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    pango_cairo_context_set_font_options(ctx, fo);
    cairo_font_options_destroy(fo);
    return ctx;
}

static int render_locked(struct pdf *p, struct mt_buf *out, struct mt_err *err)
{
    const struct report_form *f = p->f;
    p->w = f->paper == REPORT_A4 ? 595.276 : 612.0;
    p->h = f->paper == REPORT_A4 ? 841.890 : 792.0;
    p->x0 = MARGIN_X;
    p->x1 = p->w - MARGIN_X;

    cairo_surface_t *surface = cairo_pdf_surface_create_for_stream(write_out, out, p->w, p->h);
    mt_buf_reset(&p->text);
    add_clean(&p->text, f->title);
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, p->text.data);
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_AUTHOR, "MediTrack");
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_SUBJECT, "Medication tracking form");
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "meditrack " MT_VERSION);
    char date[48];
    pdf_date(f, date, sizeof(date));
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATE_DATE, date);

    p->cr = cairo_create(surface);
    p->ctx = make_context(p->cr);
    p->lay = pango_layout_new(p->ctx);
    p->font = pango_font_description_from_string(FONT_FAMILIES " 10");
    p->times = mt_xcalloc(2 * MINUTES_PER_DAY, sizeof(*p->times));
    cairo_set_source_rgb(p->cr, 0, 0, 0);
    prepare(p);

    p->draw = false;
    all_pages(p);
    p->pages = p->page;
    p->draw = true;
    all_pages(p);

    unprepare(p);
    free(p->times);
    pango_font_description_free(p->font);
    g_object_unref(p->lay);
    g_object_unref(p->ctx);
    cairo_destroy(p->cr);
    cairo_surface_finish(surface);
    cairo_status_t st = cairo_surface_status(surface);
    cairo_surface_destroy(surface);
    if (out->failed)
        return mt_fail(err, MT_ELIMIT, "the PDF is larger than %zu bytes", REPORT_PDF_MAX);
    if (st != CAIRO_STATUS_SUCCESS)
        return mt_fail(err, MT_EINTERNAL, "cairo could not make the PDF: %s",
                       cairo_status_to_string(st));
    return 0;
}

static int render(const struct report_form *f, struct mt_buf *out, struct mt_err *err)
{
    if (check_form(f, err) < 0)
        return -1;
    struct pdf p;
    memset(&p, 0, sizeof(p));
    p.f = f;
    if (group_doses(&p, err) < 0)
        return -1;
    mt_buf_init(&p.text, 0);
    pthread_mutex_lock(&render_lock);
    int rc = render_locked(&p, out, err);
    pthread_mutex_unlock(&render_lock);
    mt_buf_release(&p.text);
    free(p.bucket);
    free(p.order);
    return rc;
}

static void warm(void)
{
    /* Japanese as well as Latin, so that the fallback font is opened too. */
    static const char sample[] = "Medication Log \xE6\x9C\x8D\xE8\x96\xAC"; /* 服薬 */
    pthread_mutex_lock(&render_lock);
    PangoContext *ctx = pango_font_map_create_context(fonts());
    PangoLayout *l = pango_layout_new(ctx);
    PangoFontDescription *fd = pango_font_description_from_string(FONT_FAMILIES " 10");
    pango_layout_set_font_description(l, fd);
    pango_layout_set_text(l, sample, -1);
    int w, h;
    pango_layout_get_size(l, &w, &h);
    pango_font_description_free(fd);
    g_object_unref(l);
    g_object_unref(ctx);
    pthread_mutex_unlock(&render_lock);
}

static void shutdown_fonts(void)
{
    pthread_mutex_lock(&render_lock);
    if (font_map) {
        g_object_unref(font_map);
        font_map = NULL;
    }
    /* Resetting while a pango thread still holds the font map would trip
     * cairo's assertion, or free fontconfig's data under FcFontSetSort. If
     * the threads never let go, the caches are left to the process's exit. */
    if (wait_font_map_gone()) {
        cairo_debug_reset_static_data();
        FcFini();
    }
    pthread_mutex_unlock(&render_lock);
}

static const struct report_pdf_ops report_pdf_module = {
    .render = render,
    .warm = warm,
    .shutdown = shutdown_fonts,
};

MT_MODULE_EXPORT(REPORT_PDF_MODULE, report_pdf_module);
