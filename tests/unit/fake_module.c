/* A module that claims another version than the program's, for
 * test_module.c: the loader must refuse it before using anything in it. */
#include "core/module.h"

#ifndef MT_VERSION
#define MT_VERSION "0.0.0"
#endif

const char mt_module_version[] = "not-" MT_VERSION;
const int fake_module_value = 42;
