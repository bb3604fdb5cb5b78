/* The commands of the meditrack binary. Each returns the process exit status;
 * the codes are documented in docs/cli.md and `meditrack --help`. */
#ifndef MT_CLI_CLI_H
#define MT_CLI_CLI_H

#include "core/config.h"

enum mt_exit {
    MT_EXIT_OK = 0,
    MT_EXIT_FAIL = 1,         /* the command failed (or `db check`: revisions pending) */
    MT_EXIT_USAGE = 2,        /* bad command line */
    MT_EXIT_CONFIG = 3,       /* bad configuration, DATABASE_URL, a database file not writable,
                               * or a TLS certificate or key that cannot be used */
    MT_EXIT_DB_UNREACHABLE = 4, /* the database never became ready */
    MT_EXIT_DB_AUTH = 5,      /* authentication refused / database missing: waiting cannot help */
    MT_EXIT_MIGRATE = 6,      /* a migration failed; the database stays at its last good revision */
    MT_EXIT_ADOPT = 7,        /* an untracked database could not be matched to a revision */
    MT_EXIT_SERVE = 8,        /* the HTTP server could not start (port in use, ...) */
};

/* Every command: argv[0] is the command name; cfg is loaded and validated.
 * Exception: when the arguments contain --help or -h (before "--"), main
 * passes the built-in defaults instead, so that help works even with a broken
 * configuration; the command then prints its usage to stdout and returns 0. */
int cmd_config(int argc, char **argv, const struct mt_config *cfg);
int cmd_serve(int argc, char **argv, const struct mt_config *cfg);
int cmd_init(int argc, char **argv, const struct mt_config *cfg);        /* cli/start.c */
int cmd_seed(int argc, char **argv, const struct mt_config *cfg);        /* cli/seed.c */
int cmd_healthcheck(int argc, char **argv, const struct mt_config *cfg); /* cli/healthcheck.c */
int cmd_db(int argc, char **argv, const struct mt_config *cfg);          /* cli/db.c */
int cmd_export(int argc, char **argv, const struct mt_config *cfg);      /* cli/portable.c */
int cmd_import(int argc, char **argv, const struct mt_config *cfg);      /* cli/portable.c */
int cmd_audit(int argc, char **argv, const struct mt_config *cfg);       /* cli/audit.c */
int cmd_user(int argc, char **argv, const struct mt_config *cfg);        /* cli/user.c */
int cmd_token(int argc, char **argv, const struct mt_config *cfg);       /* cli/token.c */
/* `db adopt` / `db stamp-existing` (argv[0] is the sub-command name). */
int cmd_db_adopt(int argc, char **argv, const struct mt_config *cfg);    /* cli/adopt.c */
/* `db assign-doses` (argv[0] is "assign-doses"; prog is "meditrack db" or
 * "alembic", for messages). cli/assign.c */
int cmd_db_assign_doses(int argc, char **argv, const struct mt_config *cfg, const char *prog);

/* `db copy` (argv[0] is "copy"; prog as for assign-doses). cli/copy.c */
int cmd_db_copy(int argc, char **argv, const struct mt_config *cfg, const char *prog);
int cmd_backup(int argc, char **argv, const struct mt_config *cfg);  /* cli/copy.c */
int cmd_restore(int argc, char **argv, const struct mt_config *cfg); /* cli/copy.c */

struct db_conn;
/* For `db check`: prints the doses that belong to no person, grouped by
 * medication name, with the `assign-doses` command for each group; prints
 * nothing when there are none or the database has no doses.person_id.
 * Returns MT_EXIT_OK, or MT_EXIT_FAIL (message on stderr) when reading
 * failed. cli/assign.c */
int cli_print_unowned_doses(struct db_conn *c, const char *prog);

#endif
