/* Linked into every test program (mt_dep and mt_report_dep in the top-level
 * meson.build): before main runs, it points the module loader at the build
 * tree, where the loadable modules are built, so that the tests open the very
 * modules this build made, through the binary's own loader (the test
 * programs sit in subdirectories, beside no module). */
#include "core/module.h"

#ifndef MT_BUILD_ROOT
#error "MT_BUILD_ROOT must name the build tree (meson.build)"
#endif

__attribute__((constructor)) static void use_build_tree_modules(void)
{
    mt_module_set_dir(MT_BUILD_ROOT);
}
