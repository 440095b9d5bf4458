/* SPDX-License-Identifier: GPL-2.0 */
/* The arch entry code, for the VTL module: the same source as the root module's. */
#include "entry.S"
