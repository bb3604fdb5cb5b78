/* The option reader of cli/args.h, one for every command, so that
 * "--name value" and "--name=value" mean the same everywhere. */
#include "cli/args.h"

#include <string.h>

bool cli_option(int argc, char **argv, int *i, const char *short_name, const char *long_name,
                const char **out)
{
    const char *a = argv[*i];
    size_t n = strlen(long_name);
    if (strncmp(a, long_name, n) == 0 && a[n] == '=') {
        *out = a + n + 1;
        return true;
    }
    if (strcmp(a, long_name) == 0 || (short_name && strcmp(a, short_name) == 0)) {
        *out = *i + 1 < argc ? argv[++*i] : NULL;
        return true;
    }
    if (short_name && strncmp(a, short_name, 2) == 0 && a[2]) {
        *out = a + 2;
        return true;
    }
    return false;
}
