// SPDX-License-Identifier: GPL-2.0
/*
 * The C shim, for the VTL module: the same source as the root module's, compiled once more
 * because each module links its own copy.
 */
#include "shim.c"
