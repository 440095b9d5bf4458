/* SPDX-License-Identifier: GPL-2.0 */
/* The same EL2 code, linked into the VTL module too. */
#include "el2_arm64.S"
