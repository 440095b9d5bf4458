// SPDX-License-Identifier: GPL-2.0
/* The same glue, linked into the VTL module too. */
#include "el2_glue.c"
