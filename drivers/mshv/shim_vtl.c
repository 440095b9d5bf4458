// SPDX-License-Identifier: GPL-2.0
/*
 * The C shim, for the VTL module: the same source as the root module's, with its VTL part,
 * compiled once more because each module links its own copy.
 */
#define MSHV_SHIM_VTL
#include "shim.c"
