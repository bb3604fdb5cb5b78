/* Ingredient names and amounts made comparable: the key two spellings of
 * one ingredient share ("Paracetamol " and "paracetamol"), and amounts in
 * units of one kind (500 mg and 0.5 g) as integers of one scale, so that
 * totals are exact sums rather than floating-point ones. */
#include <math.h>
#include <string.h>
#include <strings.h>

#include "store/dosing.h"

char *store_name_key(struct mt_arena *a, const char *name)
{
    size_t len = strlen(name);
    char *out = mt_arena_alloc(a, len + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    bool space = false;
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v') {
            space = o > 0;
            continue;
        }
        if (space)
            out[o++] = ' ';
        space = false;
        out[o++] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
    }
    out[o] = '\0';
    return out;
}

/* Millionths of the base unit per one of a unit. */
#define SCALE 1000000.0

struct unit_def {
    const char *name;
    int kind;
    double factor; /* base units (mg, ml) per one */
};

static const struct unit_def units[] = {
    {"mcg", 1, 0.001}, {"ug", 1, 0.001}, {"\xC2\xB5g", 1, 0.001}, {"\xCE\xBCg", 1, 0.001},
    {"mg", 1, 1.0},    {"g", 1, 1000.0}, {"ml", 2, 1.0},          {"l", 2, 1000.0},
};

/* The unit trimmed, in ASCII lower case, into buf (cap bytes); false when
 * it does not fit or is empty. */
static bool unit_text(const char *unit, char *buf, size_t cap)
{
    while (*unit == ' ')
        unit++;
    size_t len = strlen(unit);
    while (len && unit[len - 1] == ' ')
        len--;
    if (len == 0 || len >= cap)
        return false;
    for (size_t i = 0; i < len; i++)
        buf[i] = unit[i] >= 'A' && unit[i] <= 'Z' ? (char)(unit[i] - 'A' + 'a') : unit[i];
    buf[len] = '\0';
    return true;
}

static double factor_of(const struct store_qty *q, const char *unit)
{
    char u[33];
    if (q->kind == 3 || !unit_text(unit, u, sizeof(u)))
        return 1.0;
    for (size_t i = 0; i < MT_ARRAY_LEN(units); i++)
        if (strcmp(units[i].name, u) == 0)
            return units[i].factor;
    return 1.0;
}

int store_qty_make(double amount, const char *unit, struct store_qty *out)
{
    memset(out, 0, sizeof(*out));
    if (!(amount >= 0) || amount > 1000000.0)
        return -1;
    char u[33];
    if (!unit_text(unit ? unit : "", u, sizeof(u)))
        u[0] = '\0';
    out->kind = 3;
    double factor = 1.0;
    for (size_t i = 0; i < MT_ARRAY_LEN(units); i++) {
        if (strcmp(units[i].name, u) == 0) {
            out->kind = units[i].kind;
            factor = units[i].factor;
            break;
        }
    }
    if (out->kind == 3)
        memcpy(out->other, u, strlen(u) + 1);
    out->value = llround(amount * factor * SCALE);
    return 0;
}

bool store_qty_comparable(const struct store_qty *a, const struct store_qty *b)
{
    if (a->kind != b->kind)
        return false;
    return a->kind != 3 || strcmp(a->other, b->other) == 0;
}

double store_qty_per_unit(const char *unit)
{
    struct store_qty q;
    if (store_qty_make(1.0, unit, &q) < 0)
        return SCALE;
    return factor_of(&q, unit) * SCALE;
}
