/* Doses without a person, for the household's operator: `meditrack db check`
 * lists them (cli_print_unowned_doses) with the commands that give them to a
 * person, and `meditrack db assign-doses` runs those commands. Such doses are
 * those whose medication was deleted before revision ab48726466af recorded
 * whose each dose is; the logic and SQL are in src/schema/owners.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/start.h"
#include "core/err.h"
#include "core/parse.h"
#include "db/db.h"
#include "schema/schema.h"

/* More dose ids than anyone types; bounds the array. */
#define MAX_DOSE_IDS 10000

static void assign_usage(const char *prog, FILE *out)
{
    fprintf(out,
            "usage: %s assign-doses --person ID (--medication-name NAME | --dose ID[,ID...])\n"
            "       [--dry-run]\n\n"
            "Gives doses that belong to no person to the person who took them. Such doses\n"
            "come from medications deleted before this version recorded whose each dose is;\n"
            "until they are assigned, no person's daily summary, tracking form or export\n"
            "shows them. `%s check` lists them and prints the command for each group.\n"
            "Only doses without a person whose medication is deleted are ever changed.\n\n"
            "options:\n"
            "  --person ID             the person who took the doses\n"
            "  --medication-name NAME  every such dose of the deleted medication NAME\n"
            "  --dose ID[,ID...]       these doses (may be repeated); all of them must be such\n"
            "                          doses, else nothing is changed\n"
            "  -n, --dry-run           say how many doses would be assigned; change nothing\n"
            "  -h, --help              this text\n\n"
            "exit codes: 0 done, 1 nothing matched or the command failed (the message\n"
            "says why), 2 bad command line, 3 bad DATABASE_URL, 4/5 database unreachable /\n"
            "refused.\n",
            prog, prog);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Appends the ids of a comma-separated list to ids; duplicates are removed
 * at the end by the caller. */
static int parse_ids(const char *s, int64_t *ids, size_t *n, struct mt_err *err)
{
    const char *p = s;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (*n == MAX_DOSE_IDS)
            return mt_fail(err, MT_EINVAL, "more than %d dose ids", MAX_DOSE_IDS);
        if (mt_parse_i64(p, len, 1, INT64_MAX, &ids[*n], err) < 0)
            return mt_err_wrap(err, "invalid dose id \"%.*s\"", (int)len, p);
        (*n)++;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

int cmd_db_assign_doses(int argc, char **argv, const struct mt_config *cfg, const char *prog)
{
    const char *person = NULL, *name = NULL, *v = NULL;
    bool dry_run = false;
    int64_t *ids = mt_xcalloc(MAX_DOSE_IDS, sizeof(*ids));
    size_t n_ids = 0;
    struct mt_err err = {0};
    int rc = MT_EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            assign_usage(prog, stdout);
            rc = MT_EXIT_OK;
            goto out;
        }
        if (strcmp(argv[i], "--dry-run") == 0 || strcmp(argv[i], "-n") == 0) {
            dry_run = true;
        } else if (cli_option(argc, argv, &i, NULL, "--person", &v)) {
            person = v;
            if (!v)
                goto missing;
        } else if (cli_option(argc, argv, &i, NULL, "--medication-name", &v)) {
            name = v;
            if (!v)
                goto missing;
        } else if (cli_option(argc, argv, &i, NULL, "--dose", &v)) {
            if (!v)
                goto missing;
            if (parse_ids(v, ids, &n_ids, &err) < 0) {
                fprintf(stderr, "%s assign-doses: %s\n", prog, err.msg);
                goto out;
            }
        } else {
            fprintf(stderr,
                    "%s assign-doses: unexpected argument \"%s\" (see %s assign-doses "
                    "--help)\n",
                    prog, argv[i], prog);
            goto out;
        }
        continue;
    missing:
        fprintf(stderr, "%s assign-doses: %s needs a value\n", prog, argv[i]);
        goto out;
    }
    struct schema_assign a = {.medication_name = name, .dose_ids = ids, .dry_run = dry_run};
    if (!person || mt_parse_i64(person, strlen(person), 1, INT64_MAX, &a.person_id, &err) < 0) {
        fprintf(stderr, "%s assign-doses: %s (see %s assign-doses --help)\n", prog,
                person ? "invalid --person: expected a person id" : "missing --person ID", prog);
        goto out;
    }
    if ((name != NULL) == (n_ids != 0)) {
        fprintf(stderr,
                "%s assign-doses: give either --medication-name or --dose (see %s assign-doses "
                "--help)\n",
                prog, prog);
        goto out;
    }
    qsort(ids, n_ids, sizeof(*ids), cmp_i64);
    size_t k = 0;
    for (size_t i = 0; i < n_ids; i++)
        if (k == 0 || ids[k - 1] != ids[i])
            ids[k++] = ids[i];
    a.n_dose_ids = k;

    struct db_conn *c = NULL;
    if (cli_db_open(cfg, &c, &err) < 0) {
        fprintf(stderr, "%s assign-doses: cannot connect: %s\n", prog, err.msg);
        rc = cli_exit_for_connect_error(&err);
        goto out;
    }
    int64_t assigned = 0;
    char *who = NULL;
    if (schema_assign_doses(c, &a, &assigned, &who, &err) < 0) {
        fprintf(stderr, "%s assign-doses: %s\n", prog, err.msg);
        rc = MT_EXIT_FAIL;
    } else if (assigned == 0) {
        fprintf(stderr,
                "%s assign-doses: no dose without a person has the medication name \"%s\" "
                "(`%s check` lists them); nothing was changed\n",
                prog, name ? name : "", prog);
        rc = MT_EXIT_FAIL;
    } else {
        printf("%s %lld dose%s to person %lld (%s).%s\n", dry_run ? "Would assign" : "Assigned",
               (long long)assigned, assigned == 1 ? "" : "s", (long long)a.person_id, who,
               dry_run ? " Dry run: nothing was changed." : "");
        rc = MT_EXIT_OK;
    }
    free(who);
    db_close(c);
out:
    free(ids);
    return rc;
}

/* ---- the listing of `db check` ------------------------------------------------------------- */

/* Whether a name can be given on a shell command line as printed text: no
 * control characters (a newline would break the printed command). */
static bool printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

/* s in single quotes for a POSIX shell ('\'' for a quote). */
static void print_quoted(const char *s)
{
    putchar('\'');
    for (; *s; s++) {
        if (*s == '\'')
            fputs("'\\''", stdout);
        else
            putchar(*s);
    }
    putchar('\'');
}

/* The date part of a timestamp text, or "?" when unknown. */
static void print_day(const char *ts)
{
    if (ts && strlen(ts) >= 10)
        printf("%.10s", ts);
    else
        fputs("?", stdout);
}

static void print_ids(const struct schema_unowned_group *g)
{
    for (size_t i = 0; i < g->n_ids; i++)
        printf("%s%lld", i ? "," : "", (long long)g->ids[i]);
}

int cli_print_unowned_doses(struct db_conn *c, const char *prog)
{
    struct schema_unowned u;
    struct mt_err err = {0};
    if (schema_unowned_doses(c, &u, &err) < 0) {
        fprintf(stderr, "%s check: cannot list the doses without a person: %s\n", prog, err.msg);
        schema_unowned_release(&u);
        return MT_EXIT_FAIL;
    }
    if (u.total == 0) {
        schema_unowned_release(&u);
        return MT_EXIT_OK;
    }
    printf("%lld dose%s belong%s to no person (the medication was deleted before the database "
           "recorded\nwho took each dose), so no person's summary, tracking form or export "
           "shows %s:\n",
           (long long)u.total, u.total == 1 ? "" : "s", u.total == 1 ? "s" : "",
           u.total == 1 ? "it" : "them");
    for (size_t i = 0; i < u.n_groups; i++) {
        const struct schema_unowned_group *g = &u.groups[i];
        fputs("  ", stdout);
        if (g->medication_name && printable(g->medication_name))
            print_quoted(g->medication_name);
        else if (g->medication_name)
            fputs("a medication whose name has line breaks", stdout);
        else
            fputs("without a medication name", stdout);
        printf(": %lld dose%s taken ", (long long)g->count, g->count == 1 ? "" : "s");
        print_day(g->first_taken);
        if (g->count > 1) {
            fputs(" to ", stdout);
            print_day(g->last_taken);
        }
        printf(" (dose id%s ", g->n_ids == 1 ? "" : "s");
        print_ids(g);
        printf("%s)\n", (int64_t)g->n_ids < g->count ? ",..." : "");
    }
    fputs("Persons:", stdout);
    for (size_t i = 0; i < u.n_persons; i++)
        printf("%s %lld %s", i ? "," : "", (long long)u.persons[i].id, u.persons[i].name);
    printf("%s\nGive each group to the person who took it (PERSON_ID from the list above):\n",
           u.n_persons ? "." : " none");
    for (size_t i = 0; i < u.n_groups; i++) {
        const struct schema_unowned_group *g = &u.groups[i];
        printf("  %s assign-doses ", prog);
        if (g->medication_name && printable(g->medication_name)) {
            fputs("--medication-name ", stdout);
            print_quoted(g->medication_name);
            fputs(" --person PERSON_ID\n", stdout);
            continue;
        }
        fputs("--dose ", stdout);
        print_ids(g);
        fputs(" --person PERSON_ID", stdout);
        if ((int64_t)g->n_ids < g->count)
            printf("   (the first %zu of %lld; run `%s check` again afterwards)", g->n_ids,
                   (long long)g->count, prog);
        putchar('\n');
    }
    schema_unowned_release(&u);
    return MT_EXIT_OK;
}
