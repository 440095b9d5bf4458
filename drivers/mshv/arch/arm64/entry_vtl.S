/* SPDX-License-Identifier: GPL-2.0 */
/* The arch entry code for the VTL module: the root module's source, with the VTL switch. */
#define MSHV_SHIM_VTL
#include "entry.S"
