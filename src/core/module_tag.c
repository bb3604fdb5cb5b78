/* Linked into every loadable module (never into the binary): the version
 * stamp that mt_module_symbol checks before it uses anything else of the
 * module, so that a module left over from another build is refused. */
#include "core/module.h"

#ifndef MT_VERSION
#define MT_VERSION "0.0.0"
#endif

const char mt_module_version[] = MT_VERSION;
