/* Reading the command line: what every command of cli/ parses the same
 * way. Only cli/ includes it. */
#ifndef MT_CLI_ARGS_H
#define MT_CLI_ARGS_H

#include <stdbool.h>

/* Whether argv[*i] is an option that takes a value, given as "--long value",
 * "--long=value", or (when short_name is not NULL, e.g. "-m") "-m value" and
 * "-mvalue". When it is, returns true with *out the value, or NULL when the
 * value is missing; *i then has moved past a value in its own argument. The
 * value points into argv. */
bool cli_option(int argc, char **argv, int *i, const char *short_name, const char *long_name,
                const char **out);

#endif
